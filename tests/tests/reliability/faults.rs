//! Load under faults, on the suite's dedicated stack: the webhook receiver fails and hangs
//! past the dispatcher's timeout, Mercado Pago answers 503 and hangs past the client timeout,
//! WhatsApp throttles and fails (its test numbers), each sandbox stops serving and comes back
//! on the same port, a sender worker is killed mid-batch, moto and DynamoDB Local are killed
//! and restarted. Reconciliation afterwards is the same as after the steady load.

use crate::load::{self, Accepted, Kind, Run};
use crate::reconcile::SentBefore;
use crate::world::{provision_providers, Shop};
use crate::Size;
use aws_lambda_events::event::sqs::SqsEvent;
use mostrador_devstack::Stack;
use mostrador_tests::{client, TestStack};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// One fault injected, and what it was.
#[derive(Debug, Clone)]
pub struct Injected {
    pub name: String,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Faults {
    pub injected: Vec<Injected>,
    pub before: SentBefore,
}

async fn post(url: String, body: Option<Value>) -> Value {
    let mut req = client().post(&url).timeout(Duration::from_secs(120));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn outage(t: &TestStack, kind: &str, name: &str, secs: u64) -> Injected {
    let at = Instant::now();
    let v = post(format!("{}/_local/{kind}/{name}/stop", t.api_url), None).await;
    assert_eq!(v["running"], false, "{name} stopped: {v}");
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let v = post(format!("{}/_local/{kind}/{name}/start", t.api_url), None).await;
    assert_eq!(v["running"], true, "{name} started: {v}");
    Injected {
        name: format!("{name} killed and restarted"),
        detail: format!("down {:.1} s", at.elapsed().as_secs_f64()),
    }
}

/// Runs the load for `size.load_secs` (at least 24 s) while injecting faults in sequence.
pub async fn run(stack: &Stack, t: &TestStack, shops: &[Shop], size: Size) -> (Run, Faults) {
    let size = Size {
        load_secs: size.load_secs.max(24),
        ..size
    };
    let (mut run, mut faults) =
        tokio::join!(load::run(t, shops, size), inject(stack, t, shops, size));
    run.accepted.extend(flaky_whatsapp(t, shops).await);
    faults.injected.push(Injected {
        name: "WhatsApp throttling (130429 ×2, put back) and 5xx (131000 ×1, outcome unknown)"
            .into(),
        detail: format!("{} messages to the sandbox's test numbers", shops.len() * 2),
    });
    (run, faults)
}

async fn inject(stack: &Stack, t: &TestStack, shops: &[Shop], size: Size) -> Faults {
    let mut f = Faults::default();
    let step = Duration::from_secs(size.load_secs) / 8;
    // Receiver: two 500s then a 16 s hang (the dispatcher gives up at 15 s), for every shop.
    for shop in shops {
        post(
            format!("{}/_receiver/script", t.receiver_url),
            Some(json!({"path": shop.hook_path, "responses": [{"status": 500}, {"status": 503, "headers": {"Retry-After": "1"}}, {"status": 200, "delay_ms": 16000}]})),
        )
        .await;
    }
    f.injected.push(Injected {
        name: "webhook receiver flaky and slow".into(),
        detail: "per shop: 500, 503, then a 16 s hang (timeout 15 s)".into(),
    });
    // Mercado Pago: four 503s then two 9 s hangs (the client gives up at 8 s) on payment reads.
    for fault in [
        json!({"count": 4, "status": 503, "method": "GET", "path_prefix": "/v1/payments"}),
        json!({"count": 2, "delay_ms": 9000, "method": "GET", "path_prefix": "/v1/payments"}),
    ] {
        post(
            format!("{}/_sandbox/faults", t.mercadopago_url),
            Some(fault),
        )
        .await;
    }
    f.injected.push(Injected {
        name: "Mercado Pago flaky and slow".into(),
        detail: "4× 503 then 2× 9 s hang (timeout 8 s) on GET /v1/payments".into(),
    });
    tokio::time::sleep(step).await;
    for name in ["receiver", "whatsapp", "mercadopago"] {
        f.injected.push(outage(t, "sandboxes", name, 3).await);
        tokio::time::sleep(step / 2).await;
    }
    // Moto before the sender kill: the drain would otherwise wait out the dead worker's claim.
    f.before = moto_restart(t, shops, &mut f.injected).await;
    tokio::time::sleep(step / 2).await;
    f.injected
        .push(kill_sender_mid_batch(stack, t, shops).await);
    tokio::time::sleep(step / 2).await;
    f.injected.push(outage(t, "emulators", "dynamodb", 3).await);
    f
}

/// Notifications are stored by the API and carried by SQS: moto keeps its queues in memory, so
/// a restart loses queued messages, which AWS never does. New notifications pause and the
/// queue drains first; events and payments keep flowing (the sweeper and the reconciler
/// rescue their lost messages). Mail already accepted by SES is counted before moto forgets it.
async fn moto_restart(t: &TestStack, shops: &[Shop], injected: &mut Vec<Injected>) -> SentBefore {
    load::PAUSE_NOTIFICATIONS.store(true, std::sync::atomic::Ordering::SeqCst);
    let drained = drain_notifications(t, shops).await;
    let mail: Value = client()
        .get(format!("{}/_local/mail", t.api_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut before = SentBefore::default();
    for m in mail["messages"].as_array().cloned().unwrap_or_default() {
        for to in crate::reconcile::recipients(&m) {
            *before.mail.entry(to).or_default() += 1;
        }
    }
    injected.push(outage(t, "emulators", "moto", 3).await);
    // What lived in moto's memory: provider credentials (Secrets Manager), sender identities (SES).
    for shop in shops {
        provision_providers(t, shop).await;
    }
    load::PAUSE_NOTIFICATIONS.store(false, std::sync::atomic::Ordering::SeqCst);
    if let Some(last) = injected.last_mut() {
        last.detail = format!(
            "{}; notifications paused {drained:.1} s to drain the queue first",
            last.detail
        );
    }
    before
}

async fn drain_notifications(t: &TestStack, shops: &[Shop]) -> f64 {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        let mut open = 0;
        for shop in shops {
            if let Ok(list) =
                crate::world::list_all(t, shop.key(), "/v1/notifications?status=pending").await
            {
                open += list.len();
            }
            if let Ok(list) =
                crate::world::list_all(t, shop.key(), "/v1/notifications?status=sending").await
            {
                open += list.len();
            }
        }
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    started.elapsed().as_secs_f64()
}

/// A sender invocation cut off mid-batch (its task aborted after 30 ms, as when Lambda kills
/// a timed-out invocation) over messages for fresh notifications that the real poller also
/// processes: no message may be sent twice, none lost.
async fn kill_sender_mid_batch(stack: &Stack, t: &TestStack, shops: &[Shop]) -> Injected {
    let state = stack.state("sender").unwrap();
    let mut records = Vec::new();
    let mut sent = 0;
    for shop in shops {
        for n in 0..3 {
            let to = shop.email_to(900_000 + n);
            let r = t
                .call(Method::POST, "/v1/notifications", shop.key())
                .json(&json!({"channel": "email", "to": to, "template": "aviso", "variables": {"id": n}}))
                .send()
                .await
                .unwrap();
            if r.status().as_u16() != 202 {
                continue;
            }
            let v: Value = r.json().await.unwrap();
            sent += 1;
            load::EXTRA.lock().unwrap().push(Accepted {
                shop: shop.index,
                kind: Kind::Email,
                id: v["id"].as_str().unwrap().to_owned(),
                subject: to,
            });
            let body = json!({"v": 1, "project_id": shop.project.id, "notification_id": v["id"]})
                .to_string();
            records.push(json!({"messageId": format!("killed-{}-{n}", shop.index), "receiptHandle": "none",
                "body": body, "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:killed", "awsRegion": "us-east-1"}));
        }
    }
    let event: SqsEvent = serde_json::from_value(json!({"Records": records})).unwrap();
    let worker = tokio::spawn(mostrador::sqs::process_batch(
        state,
        event,
        mostrador::notifications::sender::handler,
    ));
    tokio::time::sleep(Duration::from_millis(30)).await;
    worker.abort();
    Injected {
        name: "sender killed mid-batch".into(),
        detail: format!("batch of {sent} aborted after 30 ms while the poller raced it"),
    }
}

/// Per shop, one message to a throttled number (130429 twice, then accepted: must end sent,
/// accepted exactly once) and one to a number that answers 131000 (HTTP 500) once: a 5xx comes
/// after Meta read the request, so it ends `failed(outcome_unknown)` and is never resent
/// (reconciliation allows at most one message for it).
async fn flaky_whatsapp(t: &TestStack, shops: &[Shop]) -> Vec<Accepted> {
    let mut out = load::EXTRA.lock().unwrap().drain(..).collect::<Vec<_>>();
    for shop in shops {
        for suffix in ["0429", "1000"] {
            let to = format!("+54911{:02}77{suffix}", shop.index);
            let r = t
                .call(Method::POST, "/v1/notifications", shop.key())
                .json(&json!({"channel": "whatsapp", "mode": "cloud", "to": to, "template": "wa", "variables": {"id": 1}}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status().as_u16(),
                202,
                "{}",
                r.text().await.unwrap_or_default()
            );
            let v: Value = r.json().await.unwrap();
            out.push(Accepted {
                shop: shop.index,
                kind: Kind::Whatsapp,
                id: v["id"].as_str().unwrap().to_owned(),
                subject: to,
            });
        }
    }
    out
}
