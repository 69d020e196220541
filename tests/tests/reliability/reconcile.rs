//! After a load phase: every accepted request reaches a terminal state and is in its own
//! project's lists, nothing is in another project's, at-most-once sends hold (mail in moto's SES
//! and messages at the WhatsApp sandbox per recipient), and `order.paid` is emitted and
//! delivered once per paid order. Time-driven retries are sped up by moving the local clock
//! and running the sweeper and the reconciler, as the scheduler would.

use crate::load::{Kind, Run};
use crate::world::{list_all, Shop};
use mostrador_tests::{client, TestStack};
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

const NOTIFICATION_DONE: [&str; 6] = [
    "sent",
    "delivered",
    "read",
    "failed",
    "bounced",
    "complained",
];
const PAYMENT_DONE: [&str; 7] = [
    "paid",
    "failed",
    "cancelled",
    "refunded",
    "partially_refunded",
    "disputed",
    "charged_back",
];
const DELIVERY_DONE: [&str; 2] = ["succeeded", "failed"];

#[derive(Debug, Default)]
pub struct Reconciled {
    pub accepted: usize,
    pub terminal: usize,
    /// Final statuses of accepted requests, e.g. "email:sent" → 37.
    pub outcomes: BTreeMap<String, u64>,
    pub deliveries: u64,
    pub deliveries_by_status: BTreeMap<String, u64>,
    pub settle_secs: f64,
    pub clock_advanced_secs: i64,
    pub foreign_checks: u64,
    pub order_paid_orders: u64,
    pub mails_counted: u64,
    pub whatsapp_counted: u64,
    /// Each a precise description; must stay empty.
    pub violations: Vec<String>,
}

/// Mail and WhatsApp acceptances seen before moto lost its memory, added to the final count.
#[derive(Debug, Default, Clone)]
pub struct SentBefore {
    pub mail: HashMap<String, u64>,
}

struct Lists {
    /// id → status, with the reason for failed ones (`failed(outcome_unknown)`).
    notifications: HashMap<String, String>,
    events: Vec<Value>,
    deliveries: Vec<Value>,
    payments: HashMap<String, String>,
}

async fn lists(t: &TestStack, shop: &Shop) -> Result<Lists, String> {
    let key = shop.key();
    let pairs = |v: Vec<Value>| {
        v.iter()
            .map(|x| {
                let status = x["status"].as_str().unwrap_or_default();
                let status = match x["reason"].as_str() {
                    Some(r) if status == "failed" => format!("failed({r})"),
                    _ => status.to_owned(),
                };
                (x["id"].as_str().unwrap_or_default().to_owned(), status)
            })
            .collect()
    };
    // Statuses before what they cause: a payment read as paid has its commit behind it, so the
    // events and deliveries read after it can already hold its announcements.
    let payments = pairs(list_all(t, key, "/v1/payments").await?);
    let notifications = pairs(list_all(t, key, "/v1/notifications").await?);
    Ok(Lists {
        notifications,
        events: list_all(t, key, "/v1/events").await?,
        deliveries: list_all(t, key, "/v1/webhook-deliveries").await?,
        payments,
    })
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Email => "email",
        Kind::Whatsapp => "whatsapp",
        Kind::Event => "event",
        Kind::Payment => "payment",
    }
}

/// What is still not terminal, as "kind id status" strings.
fn unsettled(run: &Run, all: &[Lists]) -> Vec<String> {
    let mut open = Vec::new();
    for a in &run.accepted {
        let l = &all[a.shop];
        let status = match a.kind {
            Kind::Email | Kind::Whatsapp => l.notifications.get(&a.id).cloned(),
            Kind::Payment => l.payments.get(&a.id).cloned(),
            Kind::Event => l
                .events
                .iter()
                .any(|e| e["id"] == a.id.as_str())
                .then(|| "stored".to_owned()),
        };
        let done = match (a.kind, status.as_deref()) {
            (_, None) => false,
            (Kind::Email | Kind::Whatsapp, Some(s)) => {
                NOTIFICATION_DONE.contains(&s.split('(').next().unwrap_or(s))
            }
            (Kind::Payment, Some(s)) => PAYMENT_DONE.contains(&s),
            (Kind::Event, Some(_)) => true,
        };
        if !done {
            open.push(format!(
                "{} {} {}",
                kind_name(a.kind),
                a.id,
                status.unwrap_or_else(|| "absent".into())
            ));
        }
    }
    for (i, l) in all.iter().enumerate() {
        for d in &l.deliveries {
            let s = d["status"].as_str().unwrap_or_default();
            if !DELIVERY_DONE.contains(&s) {
                open.push(format!("shop {i} delivery {} {s}", d["id"]));
            }
        }
    }
    open
}

async fn local(t: &TestStack, path: &str) {
    let r = client().post(format!("{}{path}", t.api_url)).send().await;
    if let Err(e) = r {
        eprintln!("{path}: {e}");
    }
}

pub async fn all(t: &TestStack, shops: &[Shop], run: &Run) -> Reconciled {
    all_with(t, shops, run, &SentBefore::default()).await
}

pub async fn all_with(t: &TestStack, shops: &[Shop], run: &Run, before: &SentBefore) -> Reconciled {
    let mut out = Reconciled {
        accepted: run.accepted.len(),
        ..Default::default()
    };
    let started = Instant::now();
    let mut snapshot: Vec<Lists>;
    let mut rounds = 0u32;
    // Settled means nothing open twice in a row with the same events and deliveries: a status
    // is committed before it is announced, so one quiet read can still precede an emit.
    let mut quiet: Option<Vec<(usize, usize)>> = None;
    loop {
        snapshot = Vec::new();
        let mut failed = None;
        for shop in shops {
            match lists(t, shop).await {
                Ok(l) => snapshot.push(l),
                Err(e) => failed = Some(e),
            }
        }
        let open = if let Some(e) = &failed {
            vec![e.clone()]
        } else {
            unsettled(run, &snapshot)
        };
        if open.is_empty() {
            let counts: Vec<(usize, usize)> = snapshot
                .iter()
                .map(|l| (l.events.len(), l.deliveries.len()))
                .collect();
            if quiet.as_ref() == Some(&counts) {
                break;
            }
            quiet = Some(counts);
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        quiet = None;
        if started.elapsed() > Duration::from_secs(600) {
            out.violations.push(format!(
                "{} accepted requests never settled, e.g. {:?}",
                open.len(),
                &open[..open.len().min(5)]
            ));
            break;
        }
        rounds += 1;
        // Every 10 s without settling, let scheduled work come due: retries of failed webhook
        // attempts, the sweep of lost messages (15 min grace), reconciliation (10 min).
        if rounds % 5 == 0 {
            local(t, "/_local/clock/advance/1200").await;
            out.clock_advanced_secs += 1200;
            local(t, "/_local/schedules/retry-sweeper/run").await;
            local(t, "/_local/schedules/reconciler/run").await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    out.settle_secs = started.elapsed().as_secs_f64();
    if out.violations.is_empty() {
        check(t, shops, run, &snapshot, before, &mut out).await;
    }
    out
}

async fn check(
    t: &TestStack,
    shops: &[Shop],
    run: &Run,
    snapshot: &[Lists],
    before: &SentBefore,
    out: &mut Reconciled,
) {
    // Terminal and listed in its own project; never in another's.
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for a in &run.accepted {
        owner.insert(a.id.as_str(), a.shop);
        let l = &snapshot[a.shop];
        let status = match a.kind {
            Kind::Email | Kind::Whatsapp => l.notifications.get(&a.id).cloned(),
            Kind::Payment => l.payments.get(&a.id).cloned(),
            Kind::Event => Some("stored".into()),
        };
        *out.outcomes
            .entry(format!(
                "{}:{}",
                kind_name(a.kind),
                status.unwrap_or_default()
            ))
            .or_default() += 1;
        out.terminal += 1;
    }
    for (i, l) in snapshot.iter().enumerate() {
        let ids = l
            .notifications
            .keys()
            .chain(l.payments.keys())
            .map(String::as_str)
            .chain(l.events.iter().filter_map(|e| e["id"].as_str()))
            .collect::<Vec<_>>();
        for id in ids {
            if let Some(o) = owner.get(id).filter(|o| **o != i) {
                out.violations.push(format!(
                    "cross-project leak: {id} of shop {o} is listed for shop {i}"
                ));
            }
        }
        for d in &l.deliveries {
            out.deliveries += 1;
            *out.deliveries_by_status
                .entry(d["status"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
            if d["endpoint_id"] != shops[i].endpoint_id.as_str() {
                out.violations.push(format!(
                    "shop {i} lists delivery {} of a foreign endpoint",
                    d["id"]
                ));
            }
        }
    }
    // Every accepted event fanned out to the shop's endpoint (order.* filter).
    for a in run.accepted.iter().filter(|a| a.kind == Kind::Event) {
        let n = snapshot[a.shop]
            .deliveries
            .iter()
            .filter(|d| d["event_id"] == a.id.as_str())
            .count();
        if n != 1 {
            out.violations
                .push(format!("event {} has {n} deliveries, expected 1", a.id));
        }
    }
    foreign_gets(t, shops, run, out).await;
    at_most_once(t, run, snapshot, before, out).await;
    order_paid_once(t, shops, run, snapshot, out).await;
}

/// One id of every kind of each shop, fetched with the next shop's key: 404, nothing leaked.
async fn foreign_gets(t: &TestStack, shops: &[Shop], run: &Run, out: &mut Reconciled) {
    for kind in [Kind::Email, Kind::Event, Kind::Payment] {
        for shop in shops {
            let Some(a) = run
                .accepted
                .iter()
                .find(|a| a.shop == shop.index && a.kind == kind)
            else {
                continue;
            };
            let other = &shops[(shop.index + 1) % shops.len()];
            let path = match kind {
                Kind::Email | Kind::Whatsapp => format!("/v1/notifications/{}", a.id),
                Kind::Event => format!("/v1/events/{}", a.id),
                Kind::Payment => format!("/v1/payments/{}", a.id),
            };
            let r = t
                .call(Method::GET, &path, other.key())
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            out.foreign_checks += 1;
            if status != 404 || text.contains(&shop.project.id) || text.contains(&a.subject) {
                out.violations.push(format!(
                    "GET {path} as shop {}: {status} {text}",
                    other.index
                ));
            }
        }
    }
}

async fn at_most_once(
    t: &TestStack,
    run: &Run,
    snapshot: &[Lists],
    before: &SentBefore,
    out: &mut Reconciled,
) {
    let mail: Value = client()
        .get(format!("{}/_local/mail", t.api_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut per_to: HashMap<String, u64> = before.mail.clone();
    for m in mail["messages"].as_array().cloned().unwrap_or_default() {
        for to in recipients(&m) {
            *per_to.entry(to).or_default() += 1;
        }
    }
    let wa: Value = client()
        .get(format!("{}/_sandbox/messages", t.whatsapp_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut per_phone: HashMap<String, u64> = HashMap::new();
    for m in wa.as_array().cloned().unwrap_or_default() {
        if m["wamid"].is_string() {
            *per_phone
                .entry(
                    m["to"]
                        .as_str()
                        .unwrap_or_default()
                        .trim_start_matches('+')
                        .to_owned(),
                )
                .or_default() += 1;
        }
    }
    for a in &run.accepted {
        let status = snapshot[a.shop]
            .notifications
            .get(&a.id)
            .cloned()
            .unwrap_or_default();
        let (count, what) = match a.kind {
            Kind::Email => (per_to.get(&a.subject).copied().unwrap_or(0), "mails"),
            Kind::Whatsapp => (
                per_phone
                    .get(a.subject.trim_start_matches('+'))
                    .copied()
                    .unwrap_or(0),
                "WhatsApp messages",
            ),
            _ => continue,
        };
        match a.kind {
            Kind::Email => out.mails_counted += count,
            _ => out.whatsapp_counted += count,
        }
        let sent = ["sent", "delivered", "read"].contains(&status.as_str());
        // Failed for a known reason means nothing went out; only `outcome_unknown` may have.
        let failed_known = status.starts_with("failed(") && status != "failed(outcome_unknown)";
        if count > 1 || (sent && count != 1) || (failed_known && count != 0) {
            out.violations.push(format!(
                "notification {} ({status}) → {count} {what} to {}",
                a.id, a.subject
            ));
        }
    }
}

pub fn recipients(m: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for field in ["destinations", "to", "destination"] {
        collect_strings(&m[field], &mut out);
    }
    out
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// `order.paid`: one event per paid order in the shop's log, one distinct webhook at its receiver.
async fn order_paid_once(
    t: &TestStack,
    shops: &[Shop],
    run: &Run,
    snapshot: &[Lists],
    out: &mut Reconciled,
) {
    for shop in shops {
        let r: Value = client()
            .get(format!(
                "{}/_receiver/requests?path={}",
                t.receiver_url, shop.hook_path
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut delivered: HashMap<String, BTreeSet<String>> = HashMap::new();
        for req in r.as_array().cloned().unwrap_or_default() {
            let body: Value =
                serde_json::from_str(req["body_text"].as_str().unwrap_or("")).unwrap_or_default();
            if body["type"] == "order.paid" {
                let webhook_id = req["headers"]
                    .as_array()
                    .and_then(|h| h.iter().find(|p| p[0] == "webhook-id"))
                    .and_then(|p| p[1].as_str())
                    .unwrap_or_default()
                    .to_owned();
                let order = body["data"]["order_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                delivered.entry(order).or_default().insert(webhook_id);
            }
        }
        let mut events: HashMap<String, u64> = HashMap::new();
        for e in &snapshot[shop.index].events {
            if e["type"] == "order.paid" {
                let order = e["data"]["order_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                *events.entry(order).or_default() += 1;
            }
        }
        let paid: BTreeSet<&str> = run
            .accepted
            .iter()
            .filter(|a| a.shop == shop.index && a.kind == Kind::Payment)
            .filter(|a| {
                snapshot[shop.index]
                    .payments
                    .get(&a.id)
                    .is_some_and(|s| s == "paid")
            })
            .map(|a| a.subject.as_str())
            .collect();
        for order in paid {
            out.order_paid_orders += 1;
            let e = events.get(order).copied().unwrap_or(0);
            let d = delivered.get(order).map_or(0, BTreeSet::len);
            if e != 1 || d != 1 {
                out.violations.push(format!(
                    "order {order}: {e} order.paid events, {d} distinct deliveries"
                ));
            }
        }
    }
}
