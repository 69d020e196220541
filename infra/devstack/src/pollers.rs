//! Lambda's SQS event source mapping, locally: long-poll the queue, hand each batch to the
//! consumer as an `SqsEvent`, delete what succeeded and leave the reported failures (or the
//! whole batch, without `ReportBatchItemFailures`) to reappear after the visibility timeout
//! and, after `maxReceiveCount`, to move to the dead-letter queue. A source with
//! `ScalingConfig.MaximumConcurrency` gets that many polling loops (Lambda's cap on concurrent
//! invocations for the source); without it, one.

use crate::template::SqsSource;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use mostrador::sqs::{process_batch, SqsHandler};
use mostrador::AppState;
use serde_json::{json, Map, Value};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone)]
pub struct Poller {
    pub function: String,
    pub source: SqsSource,
    pub queue_url: String,
    pub queue_arn: String,
    pub state: &'static AppState,
    pub handler: SqsHandler,
}

impl Poller {
    /// How many loops of this poller run at once.
    pub fn concurrency(&self) -> u32 {
        self.source.maximum_concurrency.unwrap_or(1).max(1)
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let max = i32::try_from(self.source.batch_size.clamp(1, 10)).unwrap_or(10);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let receive = self
                .state
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(max)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send();
            let received = tokio::select! {
                r = receive => r,
                _ = shutdown.changed() => return,
            };
            let messages = match received {
                Ok(out) => out.messages.unwrap_or_default(),
                Err(e) => {
                    tracing::debug!(function = %self.function, error = %mostrador::telemetry::error_chain(&e), "poll failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                continue;
            }
            self.deliver(messages).await;
        }
    }

    async fn deliver(&self, messages: Vec<aws_sdk_sqs::types::Message>) {
        let records: Vec<Value> = messages.iter().map(|m| self.record(m)).collect();
        let event: SqsEvent = match serde_json::from_value(json!({ "Records": records })) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "cannot build SqsEvent");
                return;
            }
        };
        let response = process_batch(self.state, event, self.handler).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        if !failed.is_empty() && !self.source.report_batch_item_failures {
            // Without ReportBatchItemFailures any failure returns the whole batch.
            return;
        }
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|m| !failed.iter().any(|f| Some(f.as_str()) == m.message_id()))
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            return;
        }
        if let Err(e) = self
            .state
            .sqs
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            // Lambda would also redeliver: consumers are idempotent by design.
            tracing::warn!(function = %self.function, error = %mostrador::telemetry::error_chain(&e), "delete failed; messages will be redelivered");
        }
    }

    fn record(&self, m: &aws_sdk_sqs::types::Message) -> Value {
        let attributes: Map<String, Value> = m
            .attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let message_attributes: Map<String, Value> = m
            .message_attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            json!({"stringValue": v.string_value(), "dataType": v.data_type(), "stringListValues": [], "binaryListValues": []}),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "messageId": m.message_id(),
            "receiptHandle": m.receipt_handle(),
            "body": m.body(),
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": m.md5_of_body(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": crate::provision::REGION,
        })
    }
}
