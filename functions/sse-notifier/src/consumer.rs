//! The consumer of the events topic's subscription queue (SNS -> SQS, standard queue
//! with a DLQ). Every record goes through the one batch processor: a record that can
//! never be stored (not an envelope, an unknown schema) goes to the DLQ with its
//! reason; a database hiccup is reported as a batch item failure and retried.

use crate::audience;
use crate::store::{self, Appended};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use sluice_core::{BatchProcessor, DbError, Pool, RecordError};
use sluice_messages::Envelope;

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
}

impl Notifier {
    pub async fn handle_batch(&self, event: SqsEvent, processor: &BatchProcessor) -> SqsBatchResponse {
        processor
            .process(
                event,
                |record| async move { self.handle_record(record).await.map(|_| ()) },
            )
            .await
    }

    pub async fn handle_record(&self, record: SqsMessage) -> Result<Appended, NotifyError> {
        let envelope = parse_record(record.body.as_deref().unwrap_or_default())?;
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

/// The envelope in a record's body: inside SNS's notification JSON (the subscription's
/// default), or the body itself when the subscription delivers raw messages.
pub fn parse_record(body: &str) -> Result<Envelope, NotifyError> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| NotifyError::Malformed(format!("body is not JSON: {e}")))?;
    let inner = match (value.get("Type").and_then(|t| t.as_str()), value.get("Message")) {
        (Some("Notification"), Some(serde_json::Value::String(message))) => message.as_str(),
        (Some(other), _) if value.get("TopicArn").is_some() => {
            return Err(NotifyError::Malformed(format!(
                "an SNS {other} message, not a notification"
            )))
        }
        _ => body,
    };
    Envelope::from_json(inner).map_err(|e| NotifyError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &str = r#"{"schema_version":1,"message_id":"7e6d5c4b-3a29-4181-8f7e-6d5c4b3a2918","correlation_id":"c","producer":"llm-analyzer","occurred_at":"2026-11-22T06:10:09Z","type":"AnalysisFailed","data":{"task_id":"6f1d0c4e-2b8a-4f3e-8d7c-9a0b1c2d3e4f","user_id":"u1","kind":"risk_factors","reason":"no such filing"}}"#;

    #[test]
    fn sns_notifications_and_raw_envelopes_both_parse() {
        let sns = serde_json::json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:sluice-events", "Message": ENVELOPE});
        assert_eq!(parse_record(&sns.to_string()).unwrap().payload.kind(), "AnalysisFailed");
        assert_eq!(parse_record(ENVELOPE).unwrap().payload.kind(), "AnalysisFailed");
    }

    #[test]
    fn anything_else_is_permanent() {
        for body in [
            "not json",
            r#"{"Type":"SubscriptionConfirmation","TopicArn":"arn","Message":"x"}"#,
            r#"{"Type":"Notification","TopicArn":"arn","Message":"{\"schema_version\":9}"}"#,
            r#"{"hello":"world"}"#,
        ] {
            let e = parse_record(body).unwrap_err();
            assert!(!e.is_retryable(), "{body}: {e}");
        }
    }
}
