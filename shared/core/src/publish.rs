//! The one event publisher, built on an outbox.
//!
//! A handler stages its messages with [`EventPublisher::stage`] inside the
//! transaction of the effect they announce; after commit, [`EventPublisher::flush`]
//! sends every unsent message (SNS topic or SQS FIFO queue) and marks it sent.
//! A crash between commit and send loses nothing: the next flush, by any
//! invocation, sends it. Message ids are stable, so a message sent twice (a crash
//! after send, before marking) is recognised downstream as the same message.

use aws_sdk_sns::types::MessageAttributeValue as SnsAttribute;
use aws_sdk_sqs::types::MessageAttributeValue as SqsAttribute;
use deadpool_postgres::{Pool, Transaction};
use sluice_messages::{Envelope, Producer};

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An SNS topic ARN: fan-out of pipeline events.
    Topic(String),
    /// An SQS FIFO queue URL: work for the next function.
    FifoQueue(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("outbox: {0}")]
    Outbox(#[from] tokio_postgres::Error),
    #[error("outbox: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("sending message {message_id} failed: {reason}")]
    Send { message_id: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct EventPublisher {
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
}

impl EventPublisher {
    pub fn new(sns: aws_sdk_sns::Client, sqs: aws_sdk_sqs::Client) -> Self {
        Self { sns, sqs }
    }

    /// Records `envelope` for sending once `tx` commits. Staging the same message
    /// id twice keeps the first.
    pub async fn stage(
        tx: &Transaction<'_>,
        destination: &Destination,
        envelope: &Envelope,
    ) -> Result<(), PublishError> {
        let (kind, target, group, dedup) = match destination {
            Destination::Topic(arn) => ("topic", arn, None, None),
            Destination::FifoQueue(url) => (
                "fifo_queue",
                url,
                Some(envelope.fifo_group_id()),
                Some(envelope.deduplication_id()),
            ),
        };
        tx.execute(
            "INSERT INTO outbox (message_id, producer, destination, target, group_id, dedup_id, kind, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING",
            &[
                &envelope.message_id.0,
                &envelope.producer.as_str(),
                &kind,
                target,
                &group,
                &dedup,
                &envelope.payload.kind(),
                &envelope.to_json(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Sends every unsent message `producer` staged, in order. Returns how many it sent.
    pub async fn flush(&self, pool: &Pool, producer: Producer) -> Result<usize, PublishError> {
        let mut sent = 0;
        loop {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            // SKIP LOCKED: concurrent flushes share the work instead of queueing on it.
            let rows = tx
                .query(
                    "SELECT seq, message_id, destination, target, group_id, dedup_id, kind, body FROM outbox
                     WHERE producer = $1 AND published_at IS NULL ORDER BY seq LIMIT 25 FOR UPDATE SKIP LOCKED",
                    &[&producer.as_str()],
                )
                .await?;
            if rows.is_empty() {
                tx.commit().await?;
                return Ok(sent);
            }
            for row in &rows {
                let seq: i64 = row.get("seq");
                let message_id: uuid::Uuid = row.get("message_id");
                let result = match row.get::<_, &str>("destination") {
                    "topic" => {
                        self.send_to_topic(row.get("target"), row.get("kind"), row.get("body"))
                            .await
                    }
                    _ => {
                        self.send_to_queue(
                            row.get("target"),
                            row.get("kind"),
                            row.get("body"),
                            row.get("group_id"),
                            row.get("dedup_id"),
                        )
                        .await
                    }
                };
                if let Err(reason) = result {
                    // What was sent before this stays marked; this one and the rest wait for the next flush.
                    tx.commit().await?;
                    return Err(PublishError::Send {
                        message_id: message_id.to_string(),
                        reason,
                    });
                }
                tx.execute("UPDATE outbox SET published_at = now() WHERE seq = $1", &[&seq])
                    .await?;
                sent += 1;
            }
            tx.commit().await?;
        }
    }

    async fn send_to_topic(&self, arn: &str, kind: &str, body: &str) -> Result<(), String> {
        let attr = SnsAttribute::builder()
            .data_type("String")
            .string_value(kind)
            .build()
            .map_err(|e| e.to_string())?;
        self.sns
            .publish()
            .topic_arn(arn)
            .message(body)
            // Subscribers filter on the message type without parsing the body.
            .message_attributes("type", attr)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(e).to_string())
    }

    async fn send_to_queue(
        &self,
        url: &str,
        kind: &str,
        body: &str,
        group: Option<&str>,
        dedup: Option<&str>,
    ) -> Result<(), String> {
        let attr = SqsAttribute::builder()
            .data_type("String")
            .string_value(kind)
            .build()
            .map_err(|e| e.to_string())?;
        self.sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes("type", attr)
            .set_message_group_id(group.map(str::to_owned))
            .set_message_deduplication_id(dedup.map(str::to_owned))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }
}
