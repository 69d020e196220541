//! Real items of the bench project for the SQS functions' messages to name.

use mostrador_devstack::Stack;
use serde_json::{json, Value};

/// Records the SQS functions are fed: each message names a real item of the bench project.
#[derive(Debug, Default)]
pub struct Pools {
    pub notifications: Vec<String>,
    pub deliveries: Vec<String>,
    pub payments: Vec<String>,
}

/// Pending e-mail notifications stored without being queued (so the benchmark's sender, not the
/// stack's, sends them), webhook deliveries and checkout payments of the bench project.
pub async fn pools(stack: &Stack, key: &str, project_id: &str, n: usize) -> Pools {
    use mostrador::notifications::model::{
        Channel, HistoryEntry, Notification, Status, TemplateRef,
    };
    let mut pools = Pools::default();
    let (Some(state), Ok(project)) = (stack.state("notifications"), project_id.parse()) else {
        return pools;
    };
    let at = mostrador::clock::rfc3339(state.clock.now());
    for _ in 0..n {
        let notification = Notification {
            id: mostrador::ids::NotificationId::new(),
            project_id: project,
            channel: Channel::Email,
            mode: None,
            recipient: "buyer@example.com".into(),
            template: TemplateRef {
                name: "welcome".into(),
                version: 1,
            },
            variables_json: r#"{"name":"Ana"}"#.into(),
            metadata_json: None,
            status: Status::Pending,
            reason: None,
            provider_message_id: None,
            link: None,
            attempts: 0,
            history: vec![HistoryEntry {
                status: Status::Pending,
                at: at.clone(),
                reason: None,
            }],
            created_at: at.clone(),
            updated_at: at.clone(),
            expires_at: None,
        };
        if mostrador::notifications::store::create(state, &notification, 30)
            .await
            .is_ok()
        {
            pools.notifications.push(
                json!({"v": 1, "project_id": project_id, "notification_id": notification.id})
                    .to_string(),
            );
        }
    }
    let http = reqwest::Client::new();
    for i in 0..20 {
        let sent = http
            .post(format!("{}/v1/events", stack.api_url))
            .header("x-api-key", key)
            .json(&json!({"type": "order.created", "data": {"order_id": format!("P-{i}")}}))
            .send()
            .await;
        let Ok(r) = sent else { continue };
        let body: Value = r.json().await.unwrap_or_default();
        if let Some(id) = body["id"].as_str() {
            let event = http
                .get(format!("{}/v1/events/{id}", stack.api_url))
                .header("x-api-key", key)
                .send()
                .await;
            let Ok(event) = event else { continue };
            let event: Value = event.json().await.unwrap_or_default();
            for d in event["deliveries"].as_array().into_iter().flatten() {
                if let Some(d) = d["id"].as_str() {
                    pools
                        .deliveries
                        .push(json!({"v": 1, "p": project_id, "d": d}).to_string());
                }
            }
        }
        let paid = http
            .post(format!("{}/v1/payments", stack.api_url))
            .header("x-api-key", key)
            .json(&json!({"order_id": format!("P-{i}"), "amount": 1990, "currency": "ARS", "mode": "checkout",
                "items": [{"title": "Mate", "quantity": 1, "unit_amount": 1990}], "payer": {"email": "buyer@example.com"}}))
            .send()
            .await;
        let Ok(r) = paid else { continue };
        let body: Value = r.json().await.unwrap_or_default();
        if let Some(id) = body["id"].as_str() {
            pools.payments.push(
                json!({"v": 1, "project_id": project_id, "kind": "reconcile", "payment_id": id})
                    .to_string(),
            );
        }
    }
    pools
}
