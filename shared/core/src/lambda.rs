//! How every event-driven function meets Lambda, one way: the raw event is decoded
//! into a [`Trigger`] (an SQS batch, S3 notifications, an EventBridge schedule), the
//! function's [`Function::handle`] answers it, and [`serve`] runs that under the
//! runtime. The local runner calls the same `handle` with the events it builds, so a
//! function is wired once.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use std::future::Future;

/// What invoked a function.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// An SQS event source mapping (partial batch responses).
    Sqs(SqsEvent),
    /// S3 notifications delivered to the function directly.
    S3(S3Event),
    /// An EventBridge rule or scheduler target.
    Schedule(Box<EventBridgeEvent>),
}

impl Trigger {
    /// Tells the event apart by what each kind always carries (the records'
    /// `eventSource`, EventBridge's `detail-type`), never by trying shapes in turn.
    pub fn decode(event: Value) -> Result<Self, FunctionError> {
        let source = event
            .get("Records")
            .and_then(|r| r.get(0))
            .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let malformed =
            |kind: &'static str| move |e: serde_json::Error| FunctionError::Malformed(format!("{kind}: {e}"));
        match source.as_deref() {
            Some("aws:sqs") => Ok(Self::Sqs(
                serde_json::from_value(event).map_err(malformed("SQS event"))?,
            )),
            Some("aws:s3") => Ok(Self::S3(serde_json::from_value(event).map_err(malformed("S3 event"))?)),
            Some(other) => Err(FunctionError::Unsupported(format!("records from {other}"))),
            None if event.get("detail-type").is_some() => Ok(Self::Schedule(Box::new(
                serde_json::from_value(event).map_err(malformed("EventBridge event"))?,
            ))),
            // An SQS event with no records (Lambda never sends one; a test might).
            None if event
                .get("Records")
                .is_some_and(|r| r.as_array().is_some_and(Vec::is_empty)) =>
            {
                Ok(Self::Sqs(SqsEvent::default()))
            }
            None => Err(FunctionError::Unsupported("an event of no known kind".into())),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqs(_) => "an SQS batch",
            Self::S3(_) => "S3 notifications",
            Self::Schedule(_) => "a schedule",
        }
    }
}

/// What a function answers.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// An SQS batch's partial failures (`ReportBatchItemFailures`).
    Batch(SqsBatchResponse),
    /// Anything else, as JSON (what a schedule started, say).
    Done(Value),
}

impl Answer {
    /// The partial batch response (empty for anything that is not one).
    pub fn batch(self) -> SqsBatchResponse {
        match self {
            Self::Batch(b) => b,
            Self::Done(_) => SqsBatchResponse::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error("this function is not invoked by {0}")]
    Unsupported(String),
    #[error("the event is malformed: {0}")]
    Malformed(String),
    /// The invocation failed as a whole; Lambda retries it as its trigger does.
    #[error("{0}")]
    Failed(String),
}

impl FunctionError {
    pub fn failed(e: impl std::fmt::Display) -> Self {
        Self::Failed(e.to_string())
    }
}

/// An event-driven function, built once per instance by its constructor.
pub trait Function: Send + Sync + 'static {
    fn handle(&self, trigger: Trigger) -> impl Future<Output = Result<Answer, FunctionError>> + Send;
}

/// Runs `function` under the Lambda runtime until the instance ends.
pub async fn serve<F: Function>(function: F) -> Result<(), lambda_runtime::Error> {
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let trigger = Trigger::decode(event.payload)?;
        let answer = function.handle(trigger).await?;
        Ok::<Value, lambda_runtime::Error>(serde_json::to_value(answer)?)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_told_apart_by_what_they_always_carry() {
        let sqs = json!({"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:1:q.fifo", "attributes": {}, "messageAttributes": {}}]});
        assert!(matches!(Trigger::decode(sqs), Ok(Trigger::Sqs(e)) if e.records.len() == 1));
        // S3: the real sample below.
        assert!(matches!(
            Trigger::decode(json!({"Records": [{"eventSource": "aws:s3", "s3": "not an object"}]})),
            Err(FunctionError::Malformed(_))
        ));
        let schedule = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "1", "time": "2026-11-20T21:30:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:1:rule/sluice-daily-quotes"], "detail": {}});
        assert!(matches!(Trigger::decode(schedule), Ok(Trigger::Schedule(_))));
        assert!(matches!(
            Trigger::decode(json!({"Records": [{"eventSource": "aws:kinesis"}]})),
            Err(FunctionError::Unsupported(_))
        ));
        assert!(matches!(
            Trigger::decode(json!({"hello": 1})),
            Err(FunctionError::Unsupported(_))
        ));
        assert!(matches!(Trigger::decode(json!({"Records": []})), Ok(Trigger::Sqs(e)) if e.records.is_empty()));
    }

    #[test]
    fn the_real_lambda_samples_decode() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
        for (file, kind) in [
            ("s3-put-kpis.json", "S3 notifications"),
            ("sqs-uploads-s3-notification.json", "an SQS batch"),
            ("sqs-fifo-dataset-uploaded.json", "an SQS batch"),
            ("sqs-sse-analysis-completed.json", "an SQS batch"),
            ("eventbridge-daily-quotes.json", "a schedule"),
            ("scheduler-weekly-fundamentals.json", "a schedule"),
            ("scheduler-price-backfill.json", "a schedule"),
            ("scheduler-monthly-credits.json", "a schedule"),
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let event: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(Trigger::decode(event).unwrap().kind(), kind, "{file}");
        }
    }
}
