#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Black-box tests of the Mercado Pago sandbox: each test starts its own sandbox on a free
//! loopback port and talks to it over HTTP, as the product will.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use mostrador_sandboxes::mercadopago::{self, Config, Handle, WebhookSecret};
use serde_json::{json, Value};
use sha2::Sha256;

const TOKEN: &str = "TEST-4440000000000000-010203-0123456789abcdef0123456789abcdef-111222333";
const COLLECTOR: i64 = 111_222_333;
const OTHER_TOKEN: &str = "TEST-4440000000000000-010203-fedcba9876543210fedcba9876543210-999888777";

fn fast_config() -> Config {
    Config {
        webhook_secret: WebhookSecret::new("test-secret"),
        retry_interval: Duration::from_millis(200),
        max_retries: 2,
        delivery_timeout: Duration::from_secs(2),
        ..Config::default()
    }
}

async fn sandbox(config: Config) -> Handle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    mercadopago::start(listener, config).await
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(handle: &Handle) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            http,
            base: handle.base_url.clone(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, body)
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(token),
        )
        .await
    }

    async fn post(&self, path: &str, token: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body);
        if let Some(key) = key {
            request = request.header("X-Idempotency-Key", key);
        }
        self.send(request).await
    }

    async fn put(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.send(
            self.http
                .put(format!("{}{path}", self.base))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    async fn control(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}/_sandbox{path}", self.base))
                .json(body),
        )
        .await
    }

    async fn pay(&self, token_holder: &str, amount: f64, extra: Value) -> Value {
        let mut body = json!({
            "transaction_amount": amount, "token": format!("tok-{token_holder}"), "installments": 1,
            "payment_method_id": "visa", "payer": {"email": "buyer@example.com"}, "description": "Test",
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let key = format!("key-{}", rand_suffix());
        let (status, payment) = self.post("/v1/payments", TOKEN, Some(&key), &body).await;
        assert_eq!(status, 201, "{payment}");
        payment
    }
}

fn rand_suffix() -> u64 {
    rand::random()
}

/// What a receiver got: path with query, headers, body.
#[derive(Debug, Clone)]
struct Received {
    uri: String,
    headers: http::HeaderMap,
    body: Value,
}

#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<Mutex<usize>>,
}

impl Inbox {
    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (bounded) until `predicate` holds for the received list.
    async fn wait_until(
        &self,
        what: &str,
        predicate: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        for _ in 0..100 {
            let all = self.all();
            if predicate(&all) {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}; got {:#?}", self.all());
    }
}

/// A tiny shop endpoint that records every notification; the first `fail_first` answer 500.
async fn receiver(fail_first: usize) -> (String, Inbox) {
    async fn record(State(inbox): State<Inbox>, request: Request) -> StatusCode {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let uri = parts.uri.to_string();
        inbox.got.lock().unwrap().push(Received {
            uri,
            headers: parts.headers,
            body,
        });
        let mut fail = inbox.fail_first.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    }
    let inbox = Inbox {
        fail_first: Arc::new(Mutex::new(fail_first)),
        ..Inbox::default()
    };
    let app = axum::Router::new()
        .fallback(record)
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/mp/notify?source_news=webhooks",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

fn query(uri: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(&format!("http://x{uri}")).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Verifies a webhook the way a shop must: manifest from the query's `data.id`, the
/// `x-request-id` header and the `ts` of `x-signature`.
fn signature_is_valid(r: &Received, secret: &str) -> bool {
    let signature = header(r, "x-signature");
    let mut ts = "";
    let mut v1 = "";
    for part in signature.split(',') {
        match part.trim().split_once('=') {
            Some(("ts", v)) => ts = v,
            Some(("v1", v)) => v1 = v,
            _ => {}
        }
    }
    let data_id = query(&r.uri, "data.id").unwrap_or_default();
    let manifest = format!(
        "id:{data_id};request-id:{};ts:{ts};",
        header(r, "x-request-id")
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(manifest.as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap_or_default())
        .is_ok()
}

fn is_webhook(r: &Received) -> bool {
    query(&r.uri, "type").as_deref() == Some("payment")
}

fn is_ipn(r: &Received, topic: &str) -> bool {
    query(&r.uri, "topic").as_deref() == Some(topic)
}

fn cause_code(body: &Value) -> Value {
    body["cause"][0]["code"].clone()
}

async fn preference(api: &Api, notification_url: &str) -> Value {
    let body = json!({
        "items": [{"id": "sku-1", "title": "Mate", "quantity": 2, "unit_price": 617.25, "currency_id": "ARS"}],
        "external_reference": "order-42",
        "metadata": {"orderId": "ord_1", "shop": "demo"},
        "back_urls": {"success": "http://127.0.0.1:9/ok", "pending": "http://127.0.0.1:9/wait", "failure": "http://127.0.0.1:9/ko"},
        "auto_return": "approved",
        "notification_url": notification_url,
    });
    let (status, pref) = api.post("/checkout/preferences/", TOKEN, None, &body).await;
    assert_eq!(status, 201, "{pref}");
    pref
}

#[tokio::test]
async fn credentials_are_required_and_scope_every_read() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);

    let (status, body) = api
        .send(api.http.get(format!("{}/v1/payments/1", api.base)))
        .await;
    assert_eq!((status, cause_code(&body)), (401, json!(5)), "{body}");
    assert_eq!(body["message"], "Must provide your access_token to proceed");
    let (status, _) = api.get("/v1/payments/1", "not-a-token").await;
    assert_eq!(status, 401);

    let payment = api.pay("APRO", 100.0, json!({})).await;
    let path = format!("/v1/payments/{}", payment["id"]);
    let (status, body) = api.get(&path, OTHER_TOKEN).await;
    assert_eq!((status, cause_code(&body)), (404, json!(2000)), "{body}");
    assert_eq!(body["message"], "Payment not found");
    let (status, body) = api.get(&path, TOKEN).await;
    assert_eq!(
        (status, body["collector_id"].as_i64()),
        (200, Some(COLLECTOR))
    );
    assert_eq!(body["live_mode"], false);
}

#[tokio::test]
async fn preferences_echo_and_validate_auto_return() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let pref = preference(&api, "http://127.0.0.1:9/hook").await;
    let id = pref["id"].as_str().unwrap();
    assert!(id.starts_with(&format!("{COLLECTOR}-")), "{id}");
    assert_eq!(id.len(), COLLECTOR.to_string().len() + 1 + 36);
    assert!(pref["init_point"]
        .as_str()
        .unwrap()
        .ends_with(&format!("pref_id={id}")));
    assert!(pref["sandbox_init_point"]
        .as_str()
        .unwrap()
        .contains("sandbox.mercadopago"));
    assert_eq!(pref["external_reference"], "order-42");
    assert_eq!(pref["items"][0]["unit_price"], 617.25);
    assert_eq!(pref["metadata"]["order_id"], "ord_1");

    let (status, again) = api.get(&format!("/checkout/preferences/{id}"), TOKEN).await;
    assert_eq!((status, &again["id"]), (200, &pref["id"]));
    let (status, _) = api
        .get(&format!("/checkout/preferences/{id}"), OTHER_TOKEN)
        .await;
    assert_eq!(status, 404);

    let bad = json!({"items": [{"title": "x", "quantity": 1, "unit_price": 1}], "auto_return": "approved"});
    let (status, body) = api.post("/checkout/preferences", TOKEN, None, &bad).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "auto_return invalid. back_url.success must be defined"
    );

    let strict = sandbox(Config {
        allow_loopback_urls: false,
        ..fast_config()
    })
    .await;
    let strict_api = Api::new(&strict);
    let body = json!({"items": [{"title": "x", "quantity": 1, "unit_price": 1}], "notification_url": "http://127.0.0.1/h"});
    let (status, _) = strict_api
        .post("/checkout/preferences", TOKEN, None, &body)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn holder_names_decide_outcomes_and_rejections_are_201() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let cases = [
        ("APRO", "approved", "accredited"),
        ("OTHE", "rejected", "cc_rejected_other_reason"),
        ("CONT", "in_process", "pending_contingency"),
        ("FUND", "rejected", "cc_rejected_insufficient_amount"),
        ("SECU", "rejected", "cc_rejected_bad_filled_security_code"),
        ("EXPI", "rejected", "cc_rejected_bad_filled_date"),
        ("FORM", "rejected", "cc_rejected_bad_filled_other"),
        ("CALL", "rejected", "cc_rejected_call_for_authorize"),
    ];
    for (holder, status, detail) in cases {
        let payment = api.pay(holder, 10.5, json!({})).await;
        assert_eq!(
            (
                payment["status"].as_str(),
                payment["status_detail"].as_str()
            ),
            (Some(status), Some(detail))
        );
    }

    // A token made through /v1/card_tokens carries its holder name, and is single use.
    let card = json!({"card_number": "5031755734530604", "expiration_month": 11, "expiration_year": 2030,
        "security_code": "123", "cardholder": {"name": "FUND", "identification": {"type": "DNI", "number": "1"}}});
    let (status, token) = api.post("/v1/card_tokens", TOKEN, None, &card).await;
    assert_eq!(status, 201, "{token}");
    assert_eq!(token["last_four_digits"], "0604");
    let body = json!({"transaction_amount": 1234.5, "token": token["id"], "payment_method_id": "master",
        "installments": 1, "payer": {"email": "b@example.com"},
        "additional_info": {"items": [{"id": "a", "title": "A", "quantity": 1, "unit_price": 1234.5}]}});
    let (status, payment) = api.post("/v1/payments", TOKEN, Some("k-fund"), &body).await;
    assert_eq!(
        (status, payment["status_detail"].as_str()),
        (201, Some("cc_rejected_insufficient_amount"))
    );
    assert_eq!(payment["transaction_amount"], 1234.5);
    assert_eq!(
        payment["additional_info"]["items"][0]["unit_price"],
        "1234.50"
    );
    assert_eq!(payment["additional_info"]["items"][0]["quantity"], "1");
    assert!(payment["payer"]["id"].is_string());
    let date = payment["date_created"].as_str().unwrap();
    assert!(
        date.len() == 29 && date.ends_with("-04:00") && date.as_bytes()[19] == b'.',
        "{date}"
    );
    let (status, body) = api
        .post("/v1/payments", TOKEN, Some("k-fund-2"), &body)
        .await;
    assert_eq!((status, cause_code(&body)), (400, json!(3003)), "{body}");
}

#[tokio::test]
async fn payments_require_and_honour_idempotency_keys() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let body = json!({"transaction_amount": 50, "token": "tok-APRO", "payment_method_id": "visa", "payer": {"email": "a@b.co"}});
    let (status, err) = api.post("/v1/payments", TOKEN, None, &body).await;
    assert_eq!((status, cause_code(&err)), (400, json!(4292)), "{err}");
    assert_eq!(err["message"], "Header X-Idempotency-Key can't be null");

    let (s1, first) = api.post("/v1/payments", TOKEN, Some("same"), &body).await;
    let (s2, second) = api.post("/v1/payments", TOKEN, Some("same"), &body).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second);
    let (_, search) = api.get("/v1/payments/search?limit=100", TOKEN).await;
    assert_eq!(search["paging"]["total"], 1);

    let other = json!({"transaction_amount": 51, "token": "tok-APRO", "payment_method_id": "visa", "payer": {"email": "a@b.co"}});
    let (status, _) = api.post("/v1/payments", TOKEN, Some("same"), &other).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn refunds_follow_mercado_pago_rules() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let payment = api.pay("APRO", 100.0, json!({})).await;
    let refunds = format!("/v1/payments/{}/refunds", payment["id"]);

    let (status, err) = api
        .post(&refunds, TOKEN, None, &json!({"amount": 10}))
        .await;
    assert_eq!((status, cause_code(&err)), (400, json!(4292)));
    let (status, refund) = api
        .post(&refunds, TOKEN, Some("r1"), &json!({"amount": 30.5}))
        .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(
        (refund["amount"].as_f64(), refund["status"].as_str()),
        (Some(30.5), Some("approved"))
    );
    assert_eq!(refund["payment_id"], payment["id"]);
    let (status, replay) = api
        .post(&refunds, TOKEN, Some("r1"), &json!({"amount": 30.5}))
        .await;
    assert_eq!((status, replay), (200, Value::Null));

    let (_, now) = api
        .get(&format!("/v1/payments/{}", payment["id"]), TOKEN)
        .await;
    assert_eq!(
        (now["status"].as_str(), now["status_detail"].as_str()),
        (Some("approved"), Some("partially_refunded"))
    );
    assert_eq!(now["transaction_amount_refunded"], 30.5);
    assert_eq!(now["refunds"].as_array().unwrap().len(), 1);

    let (status, err) = api
        .post(&refunds, TOKEN, Some("r2"), &json!({"amount": 80}))
        .await;
    assert_eq!((status, cause_code(&err)), (400, json!(2017)), "{err}");
    let (status, total) = api.post(&refunds, TOKEN, Some("r3"), &json!({})).await;
    assert_eq!((status, total["amount"].as_f64()), (201, Some(69.5)));
    let (_, now) = api
        .get(&format!("/v1/payments/{}", payment["id"]), TOKEN)
        .await;
    assert_eq!(
        (now["status"].as_str(), now["status_detail"].as_str()),
        (Some("refunded"), Some("refunded"))
    );
    assert_eq!(now["transaction_amount_refunded"], 100.0);
    let (status, err) = api.post(&refunds, TOKEN, Some("r4"), &json!({})).await;
    assert_eq!((status, cause_code(&err)), (400, json!(2063)));

    let rejected = api.pay("OTHE", 10.0, json!({})).await;
    let path = format!("/v1/payments/{}/refunds", rejected["id"]);
    let (status, err) = api.post(&path, TOKEN, Some("r5"), &json!({})).await;
    assert_eq!((status, cause_code(&err)), (400, json!(2063)));
}

#[tokio::test]
async fn search_filters_sorts_and_pages() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            api.pay("APRO", 5.0, json!({"external_reference": "ref-a"}))
                .await["id"]
                .clone(),
        );
    }
    api.pay("APRO", 5.0, json!({"external_reference": "ref-b"}))
        .await;
    let (status, page) =
        api.get("/v1/payments/search?external_reference=ref-a&sort=date_created&criteria=asc&limit=2&offset=0", TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(page["paging"], json!({"total": 3, "limit": 2, "offset": 0}));
    let got: Vec<Value> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(got, ids[..2].to_vec());
    let (_, page) = api
        .get(
            "/v1/payments/search?external_reference=ref-a&criteria=desc&limit=2&offset=2",
            TOKEN,
        )
        .await;
    assert_eq!(page["results"][0]["id"], ids[0]);
    let (_, none) = api
        .get("/v1/payments/search?external_reference=ref-a", OTHER_TOKEN)
        .await;
    assert_eq!(none["paging"]["total"], 0);
}

#[tokio::test]
async fn checkout_pro_payment_notifies_with_valid_signatures() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let (url, inbox) = receiver(0).await;
    let pref = preference(&api, &url).await;
    let pref_id = pref["id"].as_str().unwrap();

    let (status, paid) = api
        .control(
            &format!("/preferences/{pref_id}/pay"),
            &json!({"holder_name": "APRO"}),
        )
        .await;
    assert_eq!(status, 201, "{paid}");
    let payment = &paid["payment"];
    assert_eq!(payment["status"], "approved");
    assert_eq!(payment["external_reference"], "order-42");
    assert_eq!(payment["metadata"]["order_id"], "ord_1");
    assert_eq!(payment["transaction_amount"], 1234.5);
    assert_eq!(payment["order"]["type"], "mercadopago");
    let order_id = payment["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(paid["auto_return"], true);
    assert!(paid["redirect_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:9/ok?collection_id="));

    let (status, order) = api
        .get(&format!("/merchant_orders/{order_id}"), TOKEN)
        .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(
        (order["status"].as_str(), order["paid_amount"].as_f64()),
        (Some("closed"), Some(1234.5))
    );
    assert_eq!(order["total_amount"], 1234.5);
    assert_eq!(order["payments"][0]["id"], payment["id"]);
    let (status, _) = api
        .get(&format!("/merchant_orders/{order_id}"), OTHER_TOKEN)
        .await;
    assert_eq!(status, 404);

    let got = inbox
        .wait_until("webhook + 2 IPNs", |all| all.len() >= 3)
        .await;
    let id = payment["id"].to_string();
    let webhook = got.iter().find(|r| is_webhook(r)).unwrap();
    assert_eq!(query(&webhook.uri, "data.id").as_deref(), Some(id.as_str()));
    assert_eq!(
        query(&webhook.uri, "source_news").as_deref(),
        Some("webhooks")
    );
    assert_eq!(webhook.body["action"], "payment.created");
    assert_eq!(webhook.body["data"]["id"], json!(id));
    assert_eq!(webhook.body["user_id"], json!(COLLECTOR));
    assert!(
        signature_is_valid(webhook, "test-secret"),
        "{:?}",
        webhook.headers
    );
    let ipn = got.iter().find(|r| is_ipn(r, "payment")).unwrap();
    assert_eq!(query(&ipn.uri, "id").as_deref(), Some(id.as_str()));
    assert_eq!(ipn.body, json!({"resource": id, "topic": "payment"}));
    assert_eq!(header(ipn, "user-agent"), "MercadoPago Feed v2.0 payment");
    let order_ipn = got.iter().find(|r| is_ipn(r, "merchant_order")).unwrap();
    assert_eq!(query(&order_ipn.uri, "id"), Some(order_id));

    // A collector's own secret signs its later webhooks.
    let (status, _) = api
        .send(
            api.http
                .put(format!("{}/_sandbox/collectors/{COLLECTOR}", api.base))
                .json(&json!({"webhook_secret": "s2"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .control(
            &format!("/payments/{id}/notify"),
            &json!({"kind": "webhook", "times": 2}),
        )
        .await;
    assert_eq!(status, 200);
    let got = inbox
        .wait_until("2 more webhooks", |all| {
            all.iter().filter(|r| is_webhook(r)).count() >= 3
        })
        .await;
    let later: Vec<&Received> = got.iter().filter(|r| is_webhook(r)).skip(1).collect();
    assert!(later
        .iter()
        .all(|r| signature_is_valid(r, "s2") && r.body["action"] == "payment.updated"));
    assert_ne!(
        header(later[0], "x-request-id"),
        header(later[1], "x-request-id")
    );
}

#[tokio::test]
async fn undelivered_notifications_are_retried_and_re_signed() {
    let handle = sandbox(Config {
        max_retries: 3,
        ..fast_config()
    })
    .await;
    let api = Api::new(&handle);
    let (url, inbox) = receiver(2).await;
    let payment = api
        .pay("APRO", 10.0, json!({"notification_url": url}))
        .await;
    // Only webhook (the failures hit whichever came first; both kinds are retried the same way).
    let (status, _) = api
        .control(
            &format!("/payments/{}/notify", payment["id"]),
            &json!({"kind": "webhook"}),
        )
        .await;
    assert_eq!(status, 200);
    inbox
        .wait_until("everything delivered", |all| all.len() >= 5)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = handle.notification_attempts();
    let failed: Vec<_> = attempts.iter().filter(|a| !a.delivered).collect();
    assert_eq!(failed.len(), 2, "{attempts:#?}");
    assert!(failed.iter().all(|a| a.status == Some(500)));
    assert!(attempts.iter().any(|a| a.attempt == 2 && a.delivered));
    let webhooks: Vec<Received> = inbox.all().into_iter().filter(is_webhook).collect();
    assert!(webhooks.len() >= 2);
    assert!(webhooks
        .iter()
        .all(|r| signature_is_valid(r, "test-secret")));
    let mut request_ids: Vec<&str> = webhooks.iter().map(|r| header(r, "x-request-id")).collect();
    request_ids.sort_unstable();
    request_ids.dedup();
    assert_eq!(request_ids.len(), webhooks.len());

    let (status, log) = api
        .send(
            api.http
                .get(format!("{}/_sandbox/notifications?kind=webhook", api.base)),
        )
        .await;
    assert_eq!(status, 200);
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["kind"] == "webhook"));
}

#[tokio::test]
async fn pending_capture_cancel_and_stale_reads() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let pending = api.pay("CONT", 20.0, json!({})).await;
    let path = format!("/v1/payments/{}", pending["id"]);
    let (status, approved) = api
        .control(&format!("/payments/{}/approve", pending["id"]), &json!({}))
        .await;
    assert_eq!(
        (status, approved["status"].as_str()),
        (200, Some("approved")),
        "{approved}"
    );
    assert!(approved["date_approved"].is_string());

    let (status, _) = api
        .control(
            &format!("/payments/{}/stale", pending["id"]),
            &json!({"reads": 1}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, stale) = api.get(&path, TOKEN).await;
    assert_eq!(stale["status"], "in_process");
    let (_, fresh) = api.get(&path, TOKEN).await;
    assert_eq!(fresh["status"], "approved");

    let authorized = api.pay("APRO", 30.0, json!({"capture": false})).await;
    assert_eq!(
        (
            authorized["status"].as_str(),
            authorized["captured"].as_bool()
        ),
        (Some("authorized"), Some(false))
    );
    let path = format!("/v1/payments/{}", authorized["id"]);
    let (status, captured) = api.put(&path, TOKEN, &json!({"capture": true})).await;
    assert_eq!(
        (status, captured["status"].as_str()),
        (200, Some("approved"))
    );
    let (status, err) = api.put(&path, TOKEN, &json!({"status": "cancelled"})).await;
    assert_eq!((status, cause_code(&err)), (400, json!(2063)));

    let to_cancel = api.pay("CONT", 30.0, json!({})).await;
    let (_, cancelled) = api
        .put(
            &format!("/v1/payments/{}", to_cancel["id"]),
            TOKEN,
            &json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(
        (
            cancelled["status"].as_str(),
            cancelled["status_detail"].as_str()
        ),
        (Some("cancelled"), Some("by_collector"))
    );

    let (status, charged) = api
        .control(
            &format!("/payments/{}/chargeback", authorized["id"]),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, charged["status"].as_str()),
        (200, Some("charged_back"))
    );
}

#[tokio::test]
async fn faults_fail_or_delay_the_next_calls() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let (status, _) = api
        .control(
            "/faults",
            &json!({"count": 2, "status": 503, "path_prefix": "/v1/payments"}),
        )
        .await;
    assert_eq!(status, 200);
    let (s1, body) = api.get("/v1/payments/search", TOKEN).await;
    let (s2, _) = api.get("/v1/payments/search", TOKEN).await;
    let (s3, _) = api.get("/v1/payments/search", TOKEN).await;
    assert_eq!((s1, s2, s3), (503, 503, 200));
    assert_eq!(body["status"], 503);

    api.control("/faults", &json!({"count": 1, "delay_ms": 300}))
        .await;
    let started = std::time::Instant::now();
    let (status, _) = api.get("/v1/payments/search", TOKEN).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn expiring_a_preference_expires_its_order() {
    let handle = sandbox(fast_config()).await;
    let api = Api::new(&handle);
    let (url, inbox) = receiver(0).await;
    let pref = preference(&api, &url).await;
    let pref_id = pref["id"].as_str().unwrap();
    let (_, rejected) = api
        .control(
            &format!("/preferences/{pref_id}/pay"),
            &json!({"outcome": "reject"}),
        )
        .await;
    assert_eq!(rejected["payment"]["status"], "rejected");
    assert!(rejected["redirect_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:9/ko?"));
    let (status, order) = api
        .control(&format!("/preferences/{pref_id}/expire"), &json!({}))
        .await;
    assert_eq!(
        (status, order["status"].as_str()),
        (200, Some("expired")),
        "{order}"
    );
    let (status, _) = api
        .control(&format!("/preferences/{pref_id}/pay"), &json!({}))
        .await;
    assert_eq!(status, 400);
    inbox
        .wait_until("merchant order IPNs", |all| {
            all.iter().filter(|r| is_ipn(r, "merchant_order")).count() >= 2
        })
        .await;
}

#[tokio::test]
async fn official_python_sdk_works_against_the_sandbox() {
    let handle = sandbox(fast_config()).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = dir.join("../../.tools/pytools/bin/python");
    let script = dir.join("tests/python/mercadopago_sdk_check.py");
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&handle.base_url)
        .env("MP_WEBHOOK_SECRET", handle.webhook_secret(COLLECTOR))
        .env("MP_ACCESS_TOKEN", TOKEN)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("python timed out")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK check failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("{stdout}");
}

#[tokio::test]
async fn receivers_that_do_not_answer_in_time_get_retries() {
    let handle = sandbox(Config {
        delivery_timeout: Duration::from_millis(300),
        ..fast_config()
    })
    .await;
    let api = Api::new(&handle);
    let calls = Arc::new(Mutex::new(0_u32));
    let counter = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            let first = {
                let mut n = counter.lock().unwrap();
                *n += 1;
                *n == 1
            };
            if first {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let payment = api.pay("APRO", 1.0, json!({})).await;
    api.control(
        &format!("/payments/{}/notify", payment["id"]),
        &json!({"kind": "webhook"}),
    )
    .await;
    // No notification_url on that payment: webhooks go to the collector's webhook URL.
    assert!(handle.notification_attempts().is_empty());
    let settings = json!({"webhook_url": url});
    api.send(
        api.http
            .put(format!("{}/_sandbox/collectors/{COLLECTOR}", api.base))
            .json(&settings),
    )
    .await;
    api.control(
        &format!("/payments/{}/notify", payment["id"]),
        &json!({"kind": "webhook"}),
    )
    .await;
    for _ in 0..100 {
        if handle.notification_attempts().iter().any(|a| a.delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let attempts = handle.notification_attempts();
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    assert_eq!(
        (attempts[0].error.as_deref(), attempts[0].status),
        (Some("timeout"), None)
    );
    assert!(attempts[1].delivered && attempts[1].attempt == 2);
}
