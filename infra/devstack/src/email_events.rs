//! SES event publishing, locally: the template's configuration sets, SNS topics and SQS
//! subscriptions are created in moto, and the one step moto cannot do — SES noticing a bounce,
//! a complaint or a delivery — is played by a control endpoint:
//!
//! `POST /_local/mail/{message_id}/events/{kind}` (`kind`: `bounce`, `soft-bounce`,
//! `complaint`, `delivery`) publishes the SES event for a message moto's SES accepted, in SES's
//! event-publishing format, to the topic of the configuration set's event destination. From
//! there moto's SNS delivers it to the subscribed queue in its own envelope, and the devstack's
//! poller hands it to the `email-feedback` function, as in AWS.

use crate::problem::problem;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{json, Value};

use crate::provision::{aws_err, Physical, ProvisionError, ACCOUNT, REGION};
use crate::template::Template;

/// The local stack's `AlertEmailFrom` (Mostrador's own e-mails, e.g. endpoint disabled).
pub const LOCAL_ALERT_FROM: &str = "Mostrador (local) <alerts@mostrador.localhost>";

/// The domain of `Name <user@domain>` or `user@domain`.
fn sender_domain(from: &str) -> Option<&str> {
    let address = match (from.rfind('<'), from.rfind('>')) {
        (Some(start), Some(end)) if start < end => &from[start + 1..end],
        _ => from,
    };
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim())
        .filter(|d| !d.is_empty())
}

/// Creates the configuration sets, topics, subscriptions and the alert sender identity (moto
/// forgets them on restart, so this runs after every moto start, after the queues exist).
pub async fn provision(
    template: &Template,
    stack_name: &str,
    sns: &aws_sdk_sns::Client,
    ses: &aws_sdk_sesv2::Client,
    physical: &mut Physical,
) -> Result<(), ProvisionError> {
    for topic in &template.topics {
        let name = format!("{stack_name}-{topic}");
        let arn = sns
            .create_topic()
            .name(&name)
            .send()
            .await
            .map_err(|e| aws_err(format!("topic {name}"), e))?
            .topic_arn
            .unwrap_or_default();
        physical.topics.insert(topic.clone(), arn);
    }
    for sub in &template.subscriptions {
        let missing =
            |what: &str| ProvisionError::Template(format!("subscription to unknown {what}"));
        let topic_arn = physical
            .topics
            .get(&sub.topic_logical_id)
            .ok_or_else(|| missing(&sub.topic_logical_id))?
            .clone();
        let (_, queue_arn, _) = physical
            .queues
            .get(&sub.queue_logical_id)
            .ok_or_else(|| missing(&sub.queue_logical_id))?
            .clone();
        let existing = sns
            .list_subscriptions_by_topic()
            .topic_arn(&topic_arn)
            .send()
            .await
            .map_err(|e| aws_err(format!("subscriptions of {topic_arn}"), e))?;
        if existing
            .subscriptions()
            .iter()
            .any(|s| s.endpoint() == Some(queue_arn.as_str()))
        {
            continue;
        }
        let mut req = sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&queue_arn);
        if sub.raw_message_delivery {
            req = req.attributes("RawMessageDelivery", "true");
        }
        req.send()
            .await
            .map_err(|e| aws_err(format!("subscription of {queue_arn}"), e))?;
    }
    if let Some(domain) = physical
        .parameters
        .get("AlertEmailFrom")
        .and_then(|v| v.as_deref())
        .and_then(sender_domain)
    {
        // Already there (moto kept running): nothing to do.
        let _ = ses
            .create_email_identity()
            .email_identity(domain)
            .send()
            .await;
    }
    physical.email_destinations.clear();
    for set in &template.configuration_sets {
        let name = match &set.name {
            serde_norway::Value::Null => format!("{stack_name}-{}", set.logical_id),
            other => physical.resolve(other)?,
        };
        // Already there (moto kept running): nothing to do.
        let _ = ses
            .create_configuration_set()
            .configuration_set_name(&name)
            .send()
            .await;
        for (topic, types) in &set.sns_destinations {
            let arn = physical.topics.get(topic).cloned().ok_or_else(|| {
                ProvisionError::Template(format!("event destination to unknown topic {topic}"))
            })?;
            physical
                .email_destinations
                .push((name.clone(), arn, types.clone()));
        }
        physical
            .configuration_sets
            .insert(set.logical_id.clone(), name);
    }
    Ok(())
}

/// The SES event for one sent message (`sent`: the message as `/_local/mail` lists it).
pub fn ses_event(kind: &str, sent: &Value, configuration_set: &str, at: &str) -> Option<Value> {
    let id = sent["id"].as_str()?;
    let source = sent["source"].as_str().unwrap_or_default();
    let destination: Vec<Value> = match &sent["destinations"] {
        Value::Array(list) => list.clone(),
        Value::Object(map) => map
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let recipients = |extra: Value| -> Vec<Value> {
        destination
            .iter()
            .map(|d| {
                let mut r = json!({"emailAddress": d});
                if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
                    r.extend(extra.clone());
                }
                r
            })
            .collect()
    };
    let feedback_id = format!("{}-local-{kind}", id);
    let (event_type, body_key, body) = match kind {
        "bounce" | "soft-bounce" => {
            let permanent = kind == "bounce";
            (
                "Bounce",
                "bounce",
                json!({
                    "feedbackId": feedback_id,
                    "bounceType": if permanent { "Permanent" } else { "Transient" },
                    "bounceSubType": if permanent { "General" } else { "MailboxFull" },
                    "bouncedRecipients": recipients(json!({
                        "action": "failed",
                        "status": if permanent { "5.1.1" } else { "4.2.2" },
                        "diagnosticCode": if permanent { "smtp; 550 5.1.1 user unknown" } else { "smtp; 452 4.2.2 mailbox full" },
                    })),
                    "timestamp": at,
                    "reportingMTA": "dsn; local.devstack",
                }),
            )
        }
        "complaint" => (
            "Complaint",
            "complaint",
            json!({
                "feedbackId": feedback_id,
                "complainedRecipients": recipients(json!({})),
                "complaintFeedbackType": "abuse",
                "userAgent": "devstack",
                "arrivalDate": at,
                "timestamp": at,
            }),
        ),
        "delivery" => (
            "Delivery",
            "delivery",
            json!({
                "timestamp": at,
                "processingTimeMillis": 120,
                "recipients": destination,
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": "local.devstack",
            }),
        ),
        _ => return None,
    };
    let mut event = json!({
        "eventType": event_type,
        "mail": {
            "timestamp": at,
            "source": source,
            "sourceArn": format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{source}"),
            "sendingAccountId": ACCOUNT,
            "messageId": id,
            "destination": destination,
            "headersTruncated": false,
            "tags": {"ses:configuration-set": [configuration_set]},
        },
    });
    event[body_key] = body;
    Some(event)
}

/// `POST /_local/mail/{message_id}/events/{kind}`.
pub async fn simulate(
    moto_endpoint: String,
    sns: &aws_sdk_sns::Client,
    destinations: &[(String, String, Vec<String>)],
    message_id: &str,
    kind: &str,
    at: &str,
) -> Response {
    let messages = match crate::mail::messages(&moto_endpoint).await {
        Ok(m) => m,
        Err(e) => return problem(StatusCode::SERVICE_UNAVAILABLE, "moto_unavailable", &e),
    };
    let Some(sent) = messages
        .iter()
        .find(|m| m["id"].as_str() == Some(message_id))
    else {
        return problem(
            StatusCode::NOT_FOUND,
            "unknown_message",
            "moto's SES sent no message with that id",
        );
    };
    let event_type = if kind == "soft-bounce" {
        "bounce"
    } else {
        kind
    };
    let Some((set, topic, _)) = destinations
        .iter()
        .find(|(_, _, types)| types.iter().any(|t| t == event_type))
    else {
        return problem(
            StatusCode::CONFLICT,
            "event_type_not_published",
            "no configuration set of template.yaml publishes that event type",
        );
    };
    let Some(event) = ses_event(kind, sent, set, at) else {
        return problem(
            StatusCode::NOT_FOUND,
            "unknown_event_kind",
            "kinds are bounce, soft-bounce, complaint and delivery",
        );
    };
    match sns
        .publish()
        .topic_arn(topic)
        .message(event.to_string())
        .send()
        .await
    {
        Ok(out) => (
            StatusCode::ACCEPTED,
            axum::Json(
                json!({"sns_message_id": out.message_id, "topic_arn": topic, "event": event}),
            ),
        )
            .into_response(),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "sns_unavailable",
            &mostrador::telemetry::error_chain(&e),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_domains() {
        assert_eq!(sender_domain(LOCAL_ALERT_FROM), Some("mostrador.localhost"));
        assert_eq!(sender_domain("a@b.example"), Some("b.example"));
        assert_eq!(sender_domain("nobody"), None);
    }

    #[test]
    fn events_carry_the_message_and_its_recipients() {
        let sent = json!({"id": "m-1", "source": "shop@example.com",
                          "destinations": {"ToAddresses": ["ana@example.com"]}});
        let e = ses_event("bounce", &sent, "set", "2026-11-22T10:00:00Z").unwrap();
        assert_eq!(e["eventType"], "Bounce");
        assert_eq!(e["mail"]["messageId"], "m-1");
        assert_eq!(e["bounce"]["bounceType"], "Permanent");
        assert_eq!(
            e["bounce"]["bouncedRecipients"][0]["emailAddress"],
            "ana@example.com"
        );
        let soft = ses_event("soft-bounce", &sent, "set", "t").unwrap();
        assert_eq!(soft["bounce"]["bounceType"], "Transient");
        let c = ses_event("complaint", &sent, "set", "t").unwrap();
        assert_eq!(
            c["complaint"]["complainedRecipients"][0]["emailAddress"],
            "ana@example.com"
        );
        assert_eq!(
            ses_event("delivery", &sent, "set", "t").unwrap()["delivery"]["recipients"][0],
            "ana@example.com"
        );
        assert!(ses_event("open", &sent, "set", "t").is_none());
    }
}
