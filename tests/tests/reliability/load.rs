//! Steady load: every shop runs rounds (an e-mail, a WhatsApp message, an event, a checkout
//! payment that the buyer then pays in the Mercado Pago sandbox) at a fixed rate, each round
//! on its own task so a slow answer never slows the rate. Records every API answer.

use crate::world::Shop;
use crate::Size;
use mostrador_tests::{client, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Email,
    Whatsapp,
    Event,
    Payment,
}

/// A request the API accepted (2xx): it must reach a terminal state.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub shop: usize,
    pub kind: Kind,
    pub id: String,
    /// Recipient (notifications) or order id (payments).
    pub subject: String,
}

#[derive(Default)]
pub struct Run {
    pub accepted: Vec<Accepted>,
    pub requests: u64,
    /// Non-2xx answers by status (expected during faults: 503s with Retry-After).
    pub refused: BTreeMap<u16, u64>,
    /// 5xx answers that were not problem+json (never expected).
    pub malformed_errors: u64,
    pub transport_errors: u64,
    pub latencies_ms: Vec<f64>,
    pub elapsed: Duration,
    /// Paid in the sandbox (the buyer retries while Mercado Pago is down).
    pub paid_orders: Vec<(usize, String)>,
}

impl Run {
    pub fn percentile(&self, p: f64) -> f64 {
        let mut v = self.latencies_ms.clone();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i.min(v.len() - 1)]
    }

    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(0.001)
    }
}

#[derive(Default)]
struct Shared {
    run: Mutex<Run>,
}

static ROUND: AtomicU64 = AtomicU64::new(0);

/// Set while moto restarts: rounds skip their notifications (see `faults::moto_restart`).
pub static PAUSE_NOTIFICATIONS: AtomicBool = AtomicBool::new(false);

/// Requests accepted outside the rounds (fault injection), reconciled with the run.
pub static EXTRA: Mutex<Vec<Accepted>> = Mutex::new(Vec::new());

pub async fn run(t: &TestStack, shops: &[Shop], size: Size) -> Run {
    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    let period = Duration::from_secs_f64(1.0 / size.rounds_per_sec);
    let mut tasks = Vec::new();
    for shop in shops {
        let (t, shop, shared) = (t.clone(), shop.clone(), shared.clone());
        let secs = size.load_secs;
        tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            let mut rounds = Vec::new();
            while started.elapsed() < Duration::from_secs(secs) {
                ticks.tick().await;
                let n = ROUND.fetch_add(1, Ordering::Relaxed);
                let (t, shop, shared) = (t.clone(), shop.clone(), shared.clone());
                rounds.push(tokio::spawn(
                    async move { round(&t, &shop, n, &shared).await },
                ));
            }
            for r in rounds {
                let _ = r.await;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut run = std::mem::take(&mut *shared.run.lock().unwrap());
    run.elapsed = started.elapsed();
    run
}

/// One API call, timed; `Some(body)` when accepted.
async fn call(shared: &Shared, req: reqwest::RequestBuilder) -> Option<Value> {
    let begun = Instant::now();
    let sent = req.timeout(Duration::from_secs(30)).send().await;
    let ms = begun.elapsed().as_secs_f64() * 1000.0;
    {
        let mut run = shared.run.lock().unwrap();
        run.requests += 1;
        run.latencies_ms.push(ms);
    }
    let response = match sent {
        Ok(r) => r,
        Err(_) => {
            shared.run.lock().unwrap().transport_errors += 1;
            return None;
        }
    };
    let status = response.status().as_u16();
    let problem = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Some(body);
    }
    let mut run = shared.run.lock().unwrap();
    *run.refused.entry(status).or_default() += 1;
    if status >= 500 && (!problem || body["code"].as_str().is_none()) {
        run.malformed_errors += 1;
    }
    None
}

fn accept(shared: &Shared, a: Accepted) {
    shared.run.lock().unwrap().accepted.push(a);
}

async fn round(t: &TestStack, shop: &Shop, n: u64, shared: &Shared) {
    let key = shop.key();
    let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_owned();
    if PAUSE_NOTIFICATIONS.load(Ordering::SeqCst) {
        return other(t, shop, n, shared).await;
    }
    let to = shop.email_to(n);
    let email = json!({"channel": "email", "to": to, "template": "aviso", "variables": {"id": n}});
    if let Some(v) = call(
        shared,
        t.call(Method::POST, "/v1/notifications", key).json(&email),
    )
    .await
    {
        accept(
            shared,
            Accepted {
                shop: shop.index,
                kind: Kind::Email,
                id: id(&v),
                subject: to,
            },
        );
    }
    let phone = shop.phone(n);
    let wa = json!({"channel": "whatsapp", "mode": "cloud", "to": phone, "template": "wa", "variables": {"id": n}});
    if let Some(v) = call(
        shared,
        t.call(Method::POST, "/v1/notifications", key).json(&wa),
    )
    .await
    {
        accept(
            shared,
            Accepted {
                shop: shop.index,
                kind: Kind::Whatsapp,
                id: id(&v),
                subject: phone,
            },
        );
    }
    other(t, shop, n, shared).await;
}

/// The event and payment of a round.
async fn other(t: &TestStack, shop: &Shop, n: u64, shared: &Shared) {
    let key = shop.key();
    let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_owned();
    let event = json!({"type": "order.created", "data": {"order": shop.order(n)}, "event_id": format!("evt-{}-{n}", shop.index)});
    if let Some(v) = call(shared, t.call(Method::POST, "/v1/events", key).json(&event)).await {
        accept(
            shared,
            Accepted {
                shop: shop.index,
                kind: Kind::Event,
                id: id(&v),
                subject: shop.order(n),
            },
        );
    }
    let order = shop.order(n);
    let payment = json!({"order_id": order, "amount": 1000 + n, "currency": "ARS", "mode": "checkout",
        "items": [{"title": "Mate", "quantity": 1, "unit_amount": 1000 + n}]});
    let created = call(
        shared,
        t.call(Method::POST, "/v1/payments", key)
            .header("idempotency-key", format!("pay-{order}"))
            .json(&payment),
    )
    .await;
    if let Some(v) = created {
        accept(
            shared,
            Accepted {
                shop: shop.index,
                kind: Kind::Payment,
                id: id(&v),
                subject: order.clone(),
            },
        );
        if let Some(pref) = v["checkout_id"].as_str() {
            if pay(t, pref).await {
                shared
                    .run
                    .lock()
                    .unwrap()
                    .paid_orders
                    .push((shop.index, order));
            }
        }
    }
}

/// The buyer pays (holder APRO), retrying for a while if Mercado Pago is down.
async fn pay(t: &TestStack, pref: &str) -> bool {
    for _ in 0..120 {
        let r = client()
            .post(format!(
                "{}/_sandbox/preferences/{pref}/pay",
                t.mercadopago_url
            ))
            .timeout(Duration::from_secs(10))
            .json(&json!({"holder_name": "APRO"}))
            .send()
            .await;
        if let Ok(r) = r {
            if r.status().as_u16() == 201 {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// Per-project rate limits under concurrency.
#[derive(Debug, Default)]
pub struct RateLimits {
    pub limit_per_second: u32,
    pub hammered_ok: u64,
    pub hammered_429: u64,
    pub hammered_seconds: u64,
    pub others_ok: u64,
    pub others_429: u64,
    pub problem_json_429: bool,
}

/// One project (5 requests/s) is hammered with 40 concurrent requests a second for 3 s while
/// the other shops make 8 requests a second each: only the hammered one sees 429s, and it
/// never gets more than its limit through in any second.
pub async fn rate_limits(t: &TestStack, shops: &[Shop]) -> RateLimits {
    const LIMIT: u32 = 5;
    let hammered = t
        .project(Some(
            json!({"limit_overrides": {"requests_per_second": LIMIT}}),
        ))
        .await;
    let mut out = RateLimits {
        limit_per_second: LIMIT,
        ..Default::default()
    };
    let started = Instant::now();
    let mut hammer = Vec::new();
    let mut polite = Vec::new();
    for second in 0..3u64 {
        for _ in 0..40 {
            let (t, key) = (t.clone(), hammered.key.clone());
            hammer.push(tokio::spawn(async move {
                let r = t
                    .call(Method::GET, "/v1/project", &key)
                    .send()
                    .await
                    .unwrap();
                let ct = r
                    .headers()
                    .get("content-type")
                    .map(|v| v.as_bytes().to_vec());
                (r.status().as_u16(), ct, Instant::now())
            }));
        }
        for shop in shops {
            for _ in 0..8 {
                let (t, key) = (t.clone(), shop.key().to_owned());
                polite.push(tokio::spawn(async move {
                    t.call(Method::GET, "/v1/project", &key)
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                }));
            }
        }
        tokio::time::sleep_until((started + Duration::from_secs(second + 1)).into()).await;
    }
    let mut last = started;
    for h in hammer {
        let (status, ct, at) = h.await.unwrap();
        last = last.max(at);
        match status {
            200 => out.hammered_ok += 1,
            429 => {
                out.hammered_429 += 1;
                out.problem_json_429 =
                    ct.as_deref() == Some(b"application/problem+json".as_slice());
            }
            other => panic!("hammered project got {other}"),
        }
    }
    out.hammered_seconds = (last - started).as_secs() + 2; // windows touched, generously
    for p in polite {
        match p.await.unwrap() {
            200 => out.others_ok += 1,
            429 => out.others_429 += 1,
            other => panic!("polite project got {other}"),
        }
    }
    out
}
