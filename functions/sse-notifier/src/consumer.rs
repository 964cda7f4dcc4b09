//! The consumer of the events topic's subscription queue (SNS -> SQS, standard queue
//! with a DLQ). Every record goes through the one batch processor: a record that can
//! never be stored (not an envelope, an unknown schema) goes to the DLQ with its
//! reason; a database hiccup is reported as a batch item failure and retried.

use crate::audience;
use crate::store::{self, Appended};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use sluice_core::{
    Answer, BatchProcessor, DbError, Delivery, Function, FunctionError, InitError, Instance, Pool, RecordError, Trigger,
};
use sluice_messages::Payload;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The record is not an event this build can read: it never will be.
    #[error("not a Sluice event: {0}")]
    Malformed(String),
    #[error("storing the event failed: {0}")]
    Database(#[from] DbError),
}

impl RecordError for NotifyError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Malformed(_) => false,
            Self::Database(DbError::Postgres(e)) => !sluice_core::db::is_permanent(e),
            Self::Database(_) => true,
        }
    }
}

/// The consumer: stores events, announces them.
#[derive(Clone)]
pub struct Notifier {
    pub pool: Pool,
    /// The subscription queue's consumer (its DLQ: `DEAD_LETTER_QUEUE_URL`).
    pub processor: BatchProcessor,
}

impl Notifier {
    /// The one constructor (Lambda, the local runner, the tests).
    pub fn build(instance: &Instance) -> Result<Self, InitError> {
        Ok(Self {
            pool: instance.pool.clone(),
            processor: instance.processor("DEAD_LETTER_QUEUE_URL")?,
        })
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor
            .consume(event, |d| async move { self.handle_delivery(d).await.map(|_| ()) })
            .await
    }

    pub async fn handle_delivery(&self, delivery: Delivery<Payload>) -> Result<Appended, NotifyError> {
        let envelope = delivery.into_envelope();
        let owner = audience::owner(&envelope.payload);
        let appended = store::append(&self.pool, &envelope, owner).await?;
        match appended {
            Appended::New(id) => tracing::info!(
                id,
                message_id = %envelope.message_id,
                correlation_id = %envelope.correlation_id,
                kind = envelope.payload.kind(),
                team_wide = owner.is_none(),
                "event stored"
            ),
            Appended::Repeat => tracing::info!(message_id = %envelope.message_id, "event already stored"),
        }
        Ok(appended)
    }
}

impl Function for Notifier {
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        match trigger {
            Trigger::Sqs(batch) => Ok(Answer::Batch(self.handle_batch(batch).await)),
            other => Err(FunctionError::Unsupported(other.kind().into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use sluice_messages::Envelope;

    const ENVELOPE: &str = r#"{"schema_version":1,"message_id":"7e6d5c4b-3a29-4181-8f7e-6d5c4b3a2918","correlation_id":"c","producer":"llm-analyzer","occurred_at":"2026-11-22T06:10:09Z","type":"AnalysisFailed","data":{"task_id":"6f1d0c4e-2b8a-4f3e-8d7c-9a0b1c2d3e4f","user_id":"u1","kind":"risk_factors","reason":"no such filing"}}"#;

    #[test]
    fn sns_notifications_and_raw_envelopes_both_parse() {
        let sns = serde_json::json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:sluice-events", "Message": ENVELOPE});
        assert_eq!(
            Envelope::from_queue_body(&sns.to_string()).unwrap().payload.kind(),
            "AnalysisFailed"
        );
        assert_eq!(
            Envelope::from_queue_body(ENVELOPE).unwrap().payload.kind(),
            "AnalysisFailed"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for body in [
            "not json",
            r#"{"Type":"SubscriptionConfirmation","TopicArn":"arn","Message":"x"}"#,
            r#"{"Type":"Notification","TopicArn":"arn","Message":"{\"schema_version\":9}"}"#,
            r#"{"hello":"world"}"#,
        ] {
            assert!(Envelope::from_queue_body(body).is_err(), "{body}");
        }
    }
}
