//! Plays Lambda's SQS event source: long-polls a queue, hands the handler an
//! `SqsEvent` shaped exactly as Lambda builds it, and deletes only the records the
//! partial batch response does not name. Failed records reappear after the
//! visibility timeout, and moto's redrive policy moves them to the DLQ after
//! maxReceiveCount, as in AWS.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use futures::future::BoxFuture;
use std::collections::HashSet;
use std::sync::Arc;

/// A function's handler as the event source sees it: its partial batch response, or
/// `None` when the invocation failed as a whole (every record stays on the queue).
pub type SqsHandler = Arc<dyn Fn(SqsEvent) -> BoxFuture<'static, Option<SqsBatchResponse>> + Send + Sync>;

#[derive(Clone)]
pub struct EventSource {
    pub name: String,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    /// Lambda takes at most 10 records from a FIFO queue.
    pub batch_size: i32,
    pub wait_seconds: i32,
    pub handler: SqsHandler,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollOutcome {
    pub received: usize,
    pub failed: usize,
}

impl EventSource {
    /// One receive, one invocation, one delete.
    pub async fn poll_once(&self) -> Result<PollOutcome, String> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(self.wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(PollOutcome::default());
        }
        let mut event = SqsEvent::default();
        let mut receipts = Vec::new();
        for m in messages {
            receipts.push((
                m.message_id.clone().unwrap_or_default(),
                m.receipt_handle.clone().unwrap_or_default(),
            ));
            event.records.push(self.to_record(m));
        }
        let failed: HashSet<String> = match (self.handler)(event).await {
            Some(response) => response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect(),
            None => receipts.iter().map(|(id, _)| id.clone()).collect(),
        };
        let entries: Vec<DeleteMessageBatchRequestEntry> = receipts
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| !failed.contains(id))
            .filter_map(|(i, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("r{i}"))
                    .receipt_handle(receipt)
                    .build()
                    .ok()
            })
            .collect();
        if !entries.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        }
        Ok(PollOutcome {
            received: receipts.len(),
            failed: failed.len(),
        })
    }

    fn to_record(&self, m: aws_sdk_sqs::types::Message) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = m.message_id;
        record.receipt_handle = m.receipt_handle;
        record.body = m.body;
        record.md5_of_body = m.md5_of_body;
        record.md5_of_message_attributes = m.md5_of_message_attributes;
        record.attributes = m
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_owned(), v))
            .collect();
        record.message_attributes = m
            .message_attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let mut a = SqsMessageAttribute::default();
                a.string_value = v.string_value;
                a.data_type = Some(v.data_type);
                (k, a)
            })
            .collect();
        record.event_source = Some("aws:sqs".into());
        record.event_source_arn = Some(self.queue_arn.clone());
        record.aws_region = Some(self.region.clone());
        record
    }

    /// Polls until `stop` is set; errors are logged and retried after a pause.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(source = %self.name, queue = %self.queue_url, "event source started");
        while !*stop.borrow() {
            match self.poll_once().await {
                Ok(o) if o.received > 0 => {
                    tracing::info!(source = %self.name, received = o.received, failed = o.failed, "batch handled")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(source = %self.name, error = %e, "receive failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            }
        }
    }
}
