//! Notifications the sandbox sends, as Mercado Pago does: a signed **Webhook**
//! (`?data.id=<id>&type=payment`) and an unauthenticated **IPN** (`?topic=payment&id=<id>`)
//! per payment event, plus a `merchant_order` IPN when the payment belongs to one. A delivery
//! that does not get a 2xx within the timeout is retried after `Config::retry_interval`, up to
//! `Config::max_retries` times, each retry with a new notification id, request id and `ts`.

use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{json, Value};
use sha2::Sha256;
use time::OffsetDateTime;

use super::model::Payment;
use super::store::{NotificationAttempt, SharedState, Store};
use super::wire::{mp_date, random_id, uuid_v4, Collector};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Webhook,
    Ipn,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Ipn => "ipn",
        }
    }
}

/// One notification to deliver (with its retries).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub kind: Kind,
    /// `payment` or `merchant_order`.
    pub topic: &'static str,
    pub resource_id: i64,
    pub collector: Collector,
    pub url: String,
    /// Webhook `action`, e.g. `payment.created`.
    pub action: String,
}

/// Which notifications of a payment event to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Both,
    Webhook,
    Ipn,
}

/// The deliveries a payment event causes. With a `notification_url`: webhook, payment IPN and
/// merchant-order IPN; without one, only a webhook to the collector's webhook URL, if set.
pub fn payment_event(
    store: &Store,
    payment: &Payment,
    action: &str,
    which: Which,
) -> Vec<Delivery> {
    let collector = payment.collector;
    let make = |kind, topic, resource_id, url: &str| Delivery {
        kind,
        topic,
        resource_id,
        collector,
        url: url.to_owned(),
        action: action.to_owned(),
    };
    let mut out = Vec::new();
    if let Some(url) = payment.notification_url.as_deref() {
        if which != Which::Ipn {
            out.push(make(Kind::Webhook, "payment", payment.id, url));
        }
        if which != Which::Webhook {
            out.push(make(Kind::Ipn, "payment", payment.id, url));
            if let Some(order_id) = payment.order_id {
                out.push(make(Kind::Ipn, "merchant_order", order_id, url));
            }
        }
    } else if which != Which::Ipn {
        if let Some(url) = store
            .collectors
            .get(&collector.id)
            .and_then(|c| c.webhook_url.as_deref())
        {
            out.push(make(Kind::Webhook, "payment", payment.id, url));
        }
    }
    out
}

/// Sends each delivery in the background, with retries.
pub fn dispatch(shared: &SharedState, deliveries: Vec<Delivery>) {
    let generation = shared.store().generation;
    for delivery in deliveries {
        let shared = shared.clone();
        tokio::spawn(async move { deliver(shared, delivery, generation).await });
    }
}

async fn deliver(shared: SharedState, delivery: Delivery, generation: u64) {
    if !shared.config.notification_delay.is_zero() {
        tokio::time::sleep(shared.config.notification_delay).await;
    }
    let attempts = shared.config.max_retries.saturating_add(1);
    for attempt in 1..=attempts {
        if shared.store().generation != generation {
            return;
        }
        if attempt_once(&shared, &delivery, attempt).await {
            return;
        }
        if attempt < attempts {
            tokio::time::sleep(shared.config.retry_interval).await;
        }
    }
}

/// One signed POST; records it in the log and says whether the receiver took it.
async fn attempt_once(shared: &SharedState, delivery: &Delivery, attempt: u32) -> bool {
    let now = OffsetDateTime::now_utc();
    let request_id = uuid_v4();
    // Unix seconds, 10 digits, as Mercado Pago sends: the docs' example header
    // `ts=1704908010,v1=…` (devsite-docs guides/additional-content/your-integrations/webhooks.en.md,
    // whose prose says "milliseconds"), and every official validator since the August 2026 fix
    // for sdk-nodejs issue #458 reads `ts` as seconds (sdk-nodejs src/utils/webhook/index.ts,
    // sdk-python mercadopago/webhook/validator.py, sdk-php
    // src/MercadoPago/Webhook/WebhookSignatureValidator.php, sdk-java
    // src/main/java/com/mercadopago/webhook/WebhookSignatureValidator.java). See
    // docs/mercadopago-signatures.md; tests/mercadopago_node.rs checks it with the Node SDK.
    let ts = now.unix_timestamp().to_string();
    let id = delivery.resource_id.to_string();
    let (query, body, user_agent, signature) = match delivery.kind {
        Kind::Webhook => {
            let secret = shared
                .store()
                .webhook_secret(delivery.collector.id, shared.config.webhook_secret.expose());
            let body = json!({
                "id": random_id(),
                "live_mode": delivery.collector.live_mode,
                "type": delivery.topic,
                "date_created": mp_date(now),
                "user_id": delivery.collector.id,
                "api_version": "v1",
                "action": delivery.action,
                "data": {"id": id},
            });
            let query = [("data.id", id.clone()), ("type", delivery.topic.to_owned())];
            let v1 = sign(&secret, &manifest(&id, &request_id, &ts));
            (
                query,
                body,
                format!("MercadoPago WebHook v1.0 {}", delivery.topic),
                format!("ts={ts},v1={v1}"),
            )
        }
        Kind::Ipn => {
            let resource = match delivery.topic {
                "payment" => Value::from(id.clone()),
                topic => Value::from(format!("{}/{}s/{id}", shared.base_url, topic)),
            };
            let body = json!({"resource": resource, "topic": delivery.topic});
            // IPN carries a signature nobody can validate: keyed with a throwaway secret.
            let throwaway = hex::encode(rand::thread_rng().gen::<[u8; 16]>());
            let v1 = sign(&throwaway, &format!("request-id:{request_id};ts:{ts};"));
            let query = [("topic", delivery.topic.to_owned()), ("id", id.clone())];
            (
                query,
                body,
                format!("MercadoPago Feed v2.0 {}", delivery.topic),
                format!("ts={ts},v1={v1}"),
            )
        }
    };
    let url = with_query(&delivery.url, &query);
    let result = shared
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("user-agent", user_agent)
        .header("x-request-id", &request_id)
        .header("x-signature", &signature)
        .body(body.to_string())
        .send()
        .await;
    let (status, error) = match result {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) => (
            None,
            Some(if e.is_timeout() {
                "timeout".to_owned()
            } else {
                e.to_string()
            }),
        ),
    };
    let delivered = status.is_some_and(|s| (200..300).contains(&s));
    let mut store = shared.store();
    let seq = store.notifications.len() + 1;
    store.notifications.push(NotificationAttempt {
        seq,
        kind: delivery.kind.name(),
        topic: delivery.topic,
        resource_id: id,
        url,
        attempt,
        request_id,
        x_signature: signature,
        body,
        status,
        error,
        delivered,
        sent_at: mp_date(now),
    });
    delivered
}

/// `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`
pub fn manifest(data_id: &str, request_id: &str, ts: &str) -> String {
    format!("id:{data_id};request-id:{request_id};ts:{ts};")
}

/// Lowercase hex HMAC-SHA256 of `message` keyed with `secret`.
pub fn sign(secret: &str, message: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(message.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => String::new(),
    }
}

/// Appends query pairs, keeping the URL's own (`?source_news=webhooks` stays).
fn with_query(url: &str, pairs: &[(&str, String)]) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed
                .query_pairs_mut()
                .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_reference_vectors() {
        let secret = "your_secret_key_here";
        let m = manifest(
            "123456",
            "bb56a2f1-6aae-46ac-982e-9dcd3581d08e",
            "1742505638683",
        );
        assert_eq!(
            sign(secret, &m),
            "5e0a7ed2ea5ece575e9d1a9bb80f7ce6ca43d6d30e8be93413bae108b94ad7cd"
        );
        assert_eq!(
            sign(secret, "ts:1704908010;"),
            "a85cce0f61742409b757e34e57c6368d3b9e6057b39550158d77dc7ea037806c"
        );
    }

    #[test]
    fn query_pairs_are_appended() {
        let url = with_query(
            "http://h/x?source_news=webhooks",
            &[("data.id", "1".into()), ("type", "payment".into())],
        );
        assert_eq!(
            url,
            "http://h/x?source_news=webhooks&data.id=1&type=payment"
        );
    }
}
