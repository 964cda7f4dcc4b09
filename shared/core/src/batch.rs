//! The one SQS batch processor, with Lambda's partial batch response
//! (`ReportBatchItemFailures`).
//!
//! - FIFO queues: records are handled in order; at the first failure the processor
//!   stops and reports that record and every later one, so a message group never
//!   runs out of order.
//! - Standard queues: every record is tried; each failure is reported on its own.
//! - A failure the handler calls permanent (a bad payload) is not retried: the
//!   record is sent to the dead-letter queue with its reason as a message attribute
//!   and counts as done. If that send fails, it is reported as a failure instead,
//!   and the queue's redrive policy moves it to the DLQ after maxReceiveCount.
//! - Typed consumers ([`BatchProcessor::consume`]) get the envelope and the payload
//!   they expect, decoded once here; anything else is a permanent failure.
//! - One outbox flush policy: after every record handled, the consumer's outbox is
//!   flushed. A flush that fails fails the record (retried): its redelivery finds the
//!   work done (idempotency) and flushes again, so no staged message waits for
//!   traffic that may never come.

use crate::publish::{EventPublisher, PublishError};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageAttributeValue;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use sluice_messages::{CorrelationId, Envelope, FromPayload, MessageId, Payload, Producer};
use std::future::Future;
use tracing::Instrument;

/// What a handler's error says about retrying.
pub trait RecordError: std::fmt::Display {
    /// True when trying again later can succeed (a timeout, a throttled or
    /// unreachable service). False for input that will never be valid.
    fn is_retryable(&self) -> bool;
}

/// Where permanently failing records go, with their reason.
#[derive(Debug, Clone)]
pub struct DeadLetterQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl DeadLetterQueue {
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { sqs, url: url.into() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn send(&self, record: &SqsMessage, reason: &str) -> Result<(), String> {
        let text = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
        };
        // SQS attribute values are bounded; a reason is a sentence, not a dump.
        let reason: String = reason.chars().take(1000).collect();
        let mut send = self
            .sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(record.body.clone().unwrap_or_default())
            .message_attributes("sluice-failure-reason", text(&reason).map_err(|e| e.to_string())?)
            .message_attributes(
                "sluice-source-queue",
                text(record.event_source_arn.as_deref().unwrap_or("unknown")).map_err(|e| e.to_string())?,
            );
        if self.url.ends_with(".fifo") {
            let group = record
                .attributes
                .get("MessageGroupId")
                .cloned()
                .unwrap_or_else(|| "dead-letters".into());
            let dedup = record.message_id.clone().unwrap_or_default();
            send = send.message_group_id(group).message_deduplication_id(dedup);
        }
        send.send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }
}

/// The messages one producer staged: flushed after each record its consumer handles.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: Pool,
    publisher: EventPublisher,
    producer: Producer,
}

impl Outbox {
    pub fn new(pool: Pool, publisher: EventPublisher, producer: Producer) -> Self {
        Self {
            pool,
            publisher,
            producer,
        }
    }

    pub fn producer(&self) -> Producer {
        self.producer
    }

    /// Sends what the producer staged and has not sent yet; returns how many it sent.
    pub async fn flush(&self) -> Result<usize, PublishError> {
        self.publisher.flush(&self.pool, self.producer).await
    }
}

/// One message for a typed consumer: the payload it expects and where it came from.
#[derive(Debug, Clone)]
pub struct Delivery<P> {
    pub message_id: MessageId,
    pub correlation_id: CorrelationId,
    pub producer: Producer,
    pub occurred_at: DateTime<Utc>,
    pub schema_version: u16,
    pub payload: P,
    /// How many times SQS has handed this message out (1 the first time).
    pub receive_count: u32,
}

impl<P> Delivery<P> {
    /// The same delivery with its payload turned into another type (a consumer of two
    /// kinds of message on one queue hands each kind to its own step).
    pub fn map<Q>(self, f: impl FnOnce(P) -> Q) -> Delivery<Q> {
        Delivery {
            message_id: self.message_id,
            correlation_id: self.correlation_id,
            producer: self.producer,
            occurred_at: self.occurred_at,
            schema_version: self.schema_version,
            payload: f(self.payload),
            receive_count: self.receive_count,
        }
    }
}

/// Why a typed consumer's record failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError<E> {
    #[error("not a {expected}: {reason}")]
    Malformed { expected: &'static str, reason: String },
    #[error("not a {expected}: got {got}")]
    Unexpected { expected: &'static str, got: &'static str },
    #[error(transparent)]
    Step(E),
    #[error("the work is done but its messages were not sent: {0}")]
    Flush(PublishError),
}

impl<E: RecordError> RecordError for ConsumeError<E> {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Malformed { .. } | Self::Unexpected { .. } => false,
            Self::Step(e) => e.is_retryable(),
            Self::Flush(_) => true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct BatchProcessor {
    dead_letters: Option<DeadLetterQueue>,
    outbox: Option<Outbox>,
}

/// How one record ended, for the batch response and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Done,
    DeadLettered {
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// Not attempted: an earlier record of this FIFO batch failed.
    Skipped,
}

impl BatchProcessor {
    pub fn new(dead_letters: Option<DeadLetterQueue>) -> Self {
        Self {
            dead_letters,
            outbox: None,
        }
    }

    /// Flushes `outbox` after every record (see the module's flush policy).
    pub fn with_outbox(mut self, outbox: Outbox) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// A typed consumer: each record's envelope (bare or inside an SNS notification)
    /// and its `P` payload, decoded once; a record that is neither is dead-lettered.
    pub async fn consume<P, F, Fut, E>(&self, event: SqsEvent, mut step: F) -> SqsBatchResponse
    where
        P: FromPayload,
        F: FnMut(Delivery<P>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: RecordError,
    {
        self.process(event, |record| {
            let started = decode::<P, E>(&record).map(&mut step);
            async move {
                match started {
                    Ok(running) => running.await.map_err(ConsumeError::Step),
                    Err(refused) => Err(refused),
                }
            }
        })
        .await
    }

    pub async fn process<F, Fut, E>(&self, event: SqsEvent, handle: F) -> SqsBatchResponse
    where
        F: FnMut(SqsMessage) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: RecordError,
    {
        let outcomes = self.process_with_outcomes(event, handle).await;
        let mut response = SqsBatchResponse::default();
        for (id, outcome) in outcomes {
            if matches!(outcome, RecordOutcome::Failed { .. } | RecordOutcome::Skipped) {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    pub async fn process_with_outcomes<F, Fut, E>(&self, event: SqsEvent, mut handle: F) -> Vec<(String, RecordOutcome)>
    where
        F: FnMut(SqsMessage) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: RecordError,
    {
        let mut outcomes = Vec::with_capacity(event.records.len());
        let mut stopped = false;
        for record in event.records {
            let id = record.message_id.clone().unwrap_or_default();
            if stopped {
                outcomes.push((id, RecordOutcome::Skipped));
                continue;
            }
            let fifo = record
                .event_source_arn
                .as_deref()
                .is_some_and(|arn| arn.ends_with(".fifo"));
            let span = tracing::info_span!("record", message_id = %id, fifo);
            let kept = record.clone();
            let outcome = match handle(record).instrument(span.clone()).await {
                Ok(()) => match self.flush().instrument(span.clone()).await {
                    Ok(()) => RecordOutcome::Done,
                    Err(e) => {
                        span.in_scope(|| tracing::warn!(error = %e, "outbox flush failed; the record will be retried"));
                        RecordOutcome::Failed { reason: e.to_string() }
                    }
                },
                Err(e) if e.is_retryable() => {
                    span.in_scope(|| tracing::warn!(error = %e, "record failed; it will be retried"));
                    RecordOutcome::Failed { reason: e.to_string() }
                }
                Err(e) => self.dead_letter(&kept, &e.to_string()).instrument(span).await,
            };
            if fifo && matches!(outcome, RecordOutcome::Failed { .. }) {
                stopped = true;
            }
            outcomes.push((id, outcome));
        }
        outcomes
    }

    async fn flush(&self) -> Result<(), ConsumeError<std::convert::Infallible>> {
        match &self.outbox {
            Some(outbox) => outbox.flush().await.map(|_| ()).map_err(ConsumeError::Flush),
            None => Ok(()),
        }
    }

    async fn dead_letter(&self, record: &SqsMessage, reason: &str) -> RecordOutcome {
        // Whatever the record staged before it failed still goes out.
        if let Err(e) = self.flush().await {
            tracing::warn!(error = %e, "outbox flush failed; the next record's flush retries it");
        }
        let Some(dlq) = &self.dead_letters else {
            tracing::error!(
                reason,
                "record failed permanently; no DLQ configured, the redrive policy will move it"
            );
            return RecordOutcome::Failed { reason: reason.into() };
        };
        match dlq.send(record, reason).await {
            Ok(()) => {
                tracing::error!(
                    reason,
                    dlq = dlq.url(),
                    "record failed permanently; sent to the dead-letter queue"
                );
                RecordOutcome::DeadLettered { reason: reason.into() }
            }
            Err(send_error) => {
                tracing::error!(reason, %send_error, "record failed permanently and the DLQ send failed; it will be retried");
                RecordOutcome::Failed { reason: reason.into() }
            }
        }
    }
}

impl Delivery<Payload> {
    /// The whole message again (a consumer of every event keeps it as it came).
    pub fn into_envelope(self) -> Envelope {
        Envelope {
            schema_version: self.schema_version,
            message_id: self.message_id,
            correlation_id: self.correlation_id,
            producer: self.producer,
            occurred_at: self.occurred_at,
            payload: self.payload,
        }
    }
}

impl<P: FromPayload> Delivery<P> {
    /// The envelope of a record and the payload a consumer expects (what
    /// [`BatchProcessor::consume`] hands each step; tests call steps with it too).
    pub fn from_record<E>(record: &SqsMessage) -> Result<Self, ConsumeError<E>> {
        decode(record)
    }
}

/// The envelope of a record and the payload a consumer expects.
fn decode<P: FromPayload, E>(record: &SqsMessage) -> Result<Delivery<P>, ConsumeError<E>> {
    let body = record.body.as_deref().unwrap_or_default();
    let envelope = Envelope::from_queue_body(body).map_err(|e| ConsumeError::Malformed {
        expected: P::EXPECTED,
        reason: e.to_string(),
    })?;
    let got = envelope.payload.kind();
    let payload = P::from_payload(envelope.payload).ok_or(ConsumeError::Unexpected {
        expected: P::EXPECTED,
        got,
    })?;
    Ok(Delivery {
        message_id: envelope.message_id,
        correlation_id: envelope.correlation_id,
        producer: envelope.producer,
        occurred_at: envelope.occurred_at,
        schema_version: envelope.schema_version,
        payload,
        receive_count: record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Debug)]
    struct TestError {
        retryable: bool,
    }
    impl std::fmt::Display for TestError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "retryable={}", self.retryable)
        }
    }
    impl RecordError for TestError {
        fn is_retryable(&self) -> bool {
            self.retryable
        }
    }

    fn event(arn: &str, bodies: &[&str]) -> SqsEvent {
        let mut event = SqsEvent::default();
        for (i, body) in bodies.iter().enumerate() {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("m{i}"));
            m.body = Some((*body).to_owned());
            m.event_source_arn = Some(arn.to_owned());
            event.records.push(m);
        }
        event
    }

    async fn run(arn: &str, bodies: &[&str]) -> (Vec<String>, Vec<String>) {
        let seen = RefCell::new(Vec::new());
        let response = BatchProcessor::default()
            .process(event(arn, bodies), |m| {
                let body = m.body.unwrap_or_default();
                seen.borrow_mut().push(body.clone());
                async move {
                    match body.as_str() {
                        "retry" => Err(TestError { retryable: true }),
                        "poison" => Err(TestError { retryable: false }),
                        _ => Ok(()),
                    }
                }
            })
            .await;
        let failed = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        (seen.into_inner(), failed)
    }

    const FIFO: &str = "arn:aws:sqs:us-east-1:123456789012:sluice-etl.fifo";
    const STANDARD: &str = "arn:aws:sqs:us-east-1:123456789012:sluice-uploads";

    #[tokio::test]
    async fn fifo_stops_at_first_failure_and_reports_the_rest() {
        let (seen, failed) = run(FIFO, &["ok", "retry", "ok", "ok"]).await;
        assert_eq!(seen, ["ok", "retry"]);
        assert_eq!(failed, ["m1", "m2", "m3"]);
    }

    #[tokio::test]
    async fn standard_queue_tries_every_record() {
        let (seen, failed) = run(STANDARD, &["retry", "ok", "retry"]).await;
        assert_eq!(seen.len(), 3);
        assert_eq!(failed, ["m0", "m2"]);
    }

    #[tokio::test]
    async fn all_good_reports_nothing() {
        let (_, failed) = run(FIFO, &["ok", "ok"]).await;
        assert!(failed.is_empty());
    }

    const DATASET_UPLOADED: &str = include_str!("../../messages/tests/golden/v1/dataset_uploaded.json");
    const ANALYSIS_FAILED: &str = include_str!("../../messages/tests/golden/v1/analysis_failed.json");

    #[tokio::test]
    async fn a_typed_consumer_gets_its_payload_decoded_once_and_refuses_the_rest() {
        use sluice_messages::DatasetUploaded;
        let seen = RefCell::new(Vec::new());
        let response = BatchProcessor::default()
            .consume(
                event(
                    STANDARD,
                    &[DATASET_UPLOADED, ANALYSIS_FAILED, "{nope", DATASET_UPLOADED],
                ),
                |d: Delivery<DatasetUploaded>| {
                    seen.borrow_mut().push((d.payload.dataset, d.receive_count));
                    async { Ok::<(), TestError>(()) }
                },
            )
            .await;
        assert_eq!(
            seen.borrow().len(),
            2,
            "only the DatasetUploaded records reach the step"
        );
        assert_eq!(seen.borrow()[0].1, 1);
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        // No DLQ configured: the refusals are left to the redrive policy.
        assert_eq!(failed, ["m1", "m2"]);
    }

    #[test]
    fn refusals_say_what_was_expected_and_are_permanent() {
        let record = |body: &str| {
            let mut m = SqsMessage::default();
            m.body = Some(body.to_owned());
            m
        };
        let wrong = Delivery::<sluice_messages::FilingRequested>::from_record::<TestError>(&record(ANALYSIS_FAILED))
            .unwrap_err();
        assert_eq!(wrong.to_string(), "not a filing request: got AnalysisFailed");
        assert!(!wrong.is_retryable());
        let garbage =
            Delivery::<sluice_messages::FeedbackReceived>::from_record::<TestError>(&record("[1]")).unwrap_err();
        assert!(garbage.to_string().starts_with("not a feedback item: "), "{garbage}");
        assert!(!garbage.is_retryable());
        let any = Delivery::<Payload>::from_record::<TestError>(&record(ANALYSIS_FAILED)).unwrap();
        assert_eq!(any.into_envelope().payload.kind(), "AnalysisFailed");
        assert!(ConsumeError::Step(TestError { retryable: true }).is_retryable());
    }

    #[tokio::test]
    async fn permanent_failure_without_dlq_is_left_to_the_redrive_policy() {
        let (seen, failed) = run(FIFO, &["poison", "ok"]).await;
        assert_eq!(seen, ["poison"]);
        assert_eq!(failed, ["m0", "m1"]);
    }
}
