//! The feedback handler: a `FeedbackReceived` becomes a triaged ticket (one row per
//! source and external id), a processing log entry, a `FeedbackTriaged` event and
//! one count in the per-day DynamoDB counters.
//!
//! Idempotency:
//! - The delivery key is `source:external_id:revision` (the message's FIFO
//!   deduplication id). It is claimed in the ticket's transaction, so the same
//!   revision delivered again changes nothing: no second log, no second event.
//!   A new revision re-triages the ticket and updates its row (`retriaged`).
//! - Counters count *tickets*, once each, on the day the ticket was first received
//!   (UTC), with the triage the ticket had when it was counted (its first, unless
//!   counting failed until a later revision). A re-triage does not count again.
//! - Counting runs after the PostgreSQL commit, on every successful handling (the
//!   first one, and a redelivery too), and is skipped once `tickets.counted_at` is
//!   set. The DynamoDB write is one `TransactWriteItems`: a `ticket#<id>` marker
//!   with `attribute_not_exists(pk)` plus the `ADD`s, so if the Lambda dies after
//!   the counters were written but before `counted_at`, the retry's transaction is
//!   cancelled by the marker and nothing is added twice. If it dies after the
//!   commit and before the counters, the redelivery finds the delivery claimed,
//!   sees `counted_at` empty and counts. Counting first would instead count tickets
//!   whose transaction then failed, or count one triage and store another.

use crate::provider::{LanguageModel, ProviderConfig, ProviderError};
use crate::triage::{self, FeedbackItem, Triaged};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde_json::json;
use sluice_core::idempotency::{self, Claim};
use sluice_core::retry::Backoff;
use sluice_core::{
    db, BatchProcessor, ConfigError, ConfigSource, Delivery, Destination, EventPublisher, Pool, RecordError,
};
use sluice_feedback::metrics::{self, CountedTicket};
use sluice_messages::{Envelope, FeedbackReceived, FeedbackTriaged, Payload, Producer};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// The idempotency consumer of triage (apart from the analyses' keys).
pub const TRIAGE_CONSUMER: &str = "llm-analyzer-triage";
/// Longest external id accepted (ids are keys, not documents).
const MAX_EXTERNAL_ID_CHARS: usize = 512;

#[derive(Debug, Clone)]
pub struct TriageConfig {
    /// `FEEDBACK_METRICS_TABLE`: the per-day counters.
    pub metrics_table: String,
    pub events_topic_arn: String,
    pub backoff: Backoff,
}

impl TriageConfig {
    /// Reads `FEEDBACK_METRICS_TABLE` and `EVENTS_TOPIC_ARN`; model retries follow the provider's settings.
    pub fn load(cfg: &ConfigSource, provider: &ProviderConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            metrics_table: cfg.required("FEEDBACK_METRICS_TABLE")?,
            events_topic_arn: cfg.required("EVENTS_TOPIC_ARN")?,
            backoff: provider.backoff(),
        })
    }
}

/// The feedback consumer, built once per instance by [`crate::LlmAnalyzer::build`].
#[derive(Clone)]
pub struct Triage {
    pub pool: Pool,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub model: Arc<dyn LanguageModel>,
    pub config: TriageConfig,
    /// The feedback queue's consumer (its DLQ: `FEEDBACK_DLQ_URL`).
    pub processor: BatchProcessor,
}

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("not a feedback item: {0}")]
    Malformed(String),
    #[error("the model could not triage: {0}")]
    Model(#[from] ProviderError),
    #[error("feedback counters: {0}")]
    Counters(String),
    #[error("outbox: {0}")]
    Outbox(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

impl RecordError for TriageError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Malformed(_) => false,
            Self::Model(e) => e.is_retryable(),
            Self::Database(e) => !db::is_permanent(e),
            Self::Counters(_) | Self::Outbox(_) | Self::Pool(_) => true,
        }
    }
}

/// The delivery key: one item at one revision (also its FIFO deduplication id).
pub fn delivery_key(item: &FeedbackReceived) -> String {
    format!("{}:{}:{}", item.source.as_str(), item.external_id, item.revision)
}

/// What makes an item impossible to triage, whoever retries it.
pub fn validate(item: &FeedbackReceived) -> Result<(), String> {
    let id = item.external_id.trim();
    if id.is_empty() || id.chars().count() > MAX_EXTERNAL_ID_CHARS {
        return Err(format!("external_id must be 1 to {MAX_EXTERNAL_ID_CHARS} characters"));
    }
    if item.revision.trim().is_empty() {
        return Err("revision is empty".to_owned());
    }
    if item.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err("rating must be 1 to 5 stars".to_owned());
    }
    let subject_blank = item.subject.as_deref().is_none_or(|s| s.trim().is_empty());
    if item.text.trim().is_empty() && subject_blank {
        return Err("the item has no text and no subject: nothing to triage".to_owned());
    }
    Ok(())
}

impl Triage {
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor.consume(event, |d| self.handle_delivery(d)).await
    }

    pub async fn handle_delivery(&self, delivery: Delivery<FeedbackReceived>) -> Result<(), TriageError> {
        let item = &delivery.payload;
        validate(item).map_err(TriageError::Malformed)?;
        let key = delivery_key(item);
        {
            let client = self.pool.get().await?;
            if idempotency::already_processed(&**client, TRIAGE_CONSUMER, &key).await? {
                tracing::info!(key, "feedback revision already triaged; nothing to do");
                drop(client);
                return self.count_existing(item).await;
            }
        }
        if self.is_older_than_stored(item).await? {
            // Not worth a model call: the ticket already shows a later revision.
            tracing::info!(key, "an older revision than the ticket shows; ignored");
            return self.count_existing(item).await;
        }
        let started = Instant::now();
        let triaged = triage::triage(self.model.as_ref(), &FeedbackItem::of(item), self.config.backoff).await?;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match self.record(&delivery, &key, &triaged, duration_ms).await? {
            Some(ticket_id) => self.count(ticket_id).await,
            // A concurrent duplicate claimed it first.
            None => self.count_existing(item).await,
        }
    }

    /// The ticket, its log entry, the claim and the event: one transaction.
    /// `None` when this delivery was already applied.
    async fn record(
        &self,
        delivery: &Delivery<FeedbackReceived>,
        key: &str,
        triaged: &Triaged,
        duration_ms: i64,
    ) -> Result<Option<Uuid>, TriageError> {
        let item = &delivery.payload;
        let answer = &triaged.answer;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if idempotency::claim(&tx, TRIAGE_CONSUMER, key).await? == Claim::Repeat {
            return Ok(None);
        }
        let row = tx
            .query_opt(
                "INSERT INTO tickets (id, source, external_id, revision, priority, category, sentiment, summary,
                     language, author, rating, subject, text, link, received_at, triaged_at, model, revised_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now(), $16, $15)
                 ON CONFLICT (source, external_id) DO UPDATE SET
                     revision = EXCLUDED.revision, revised_at = EXCLUDED.revised_at,
                     priority = CASE WHEN tickets.priority_set_by IS NULL THEN EXCLUDED.priority
                                     ELSE tickets.priority END,
                     category = EXCLUDED.category, sentiment = EXCLUDED.sentiment, summary = EXCLUDED.summary,
                     language = EXCLUDED.language, author = EXCLUDED.author, rating = EXCLUDED.rating,
                     subject = EXCLUDED.subject, text = EXCLUDED.text, link = EXCLUDED.link,
                     received_at = LEAST(tickets.received_at, EXCLUDED.received_at),
                     triaged_at = now(), model = EXCLUDED.model, updated_at = now()
                 WHERE tickets.revised_at <= EXCLUDED.revised_at
                 RETURNING id, (xmax = 0) AS inserted, priority, priority_set_by",
                &[
                    &Uuid::new_v4(),
                    &item.source.as_str(),
                    &item.external_id,
                    &item.revision,
                    &answer.priority.as_str(),
                    &answer.category.as_str(),
                    &answer.sentiment,
                    &answer.summary,
                    &answer.language,
                    &item.author,
                    &item.rating.map(i16::from),
                    &item.subject,
                    &item.text,
                    &item.link,
                    &item.received_at,
                    &triaged.model.as_str(),
                ],
            )
            .await?;
        let Some(row) = row else {
            // A newer revision was stored while this one was being triaged: it stays.
            tx.commit().await?;
            tracing::info!(key, "a newer revision was stored meanwhile; this one is ignored");
            return Ok(None);
        };
        let ticket_id: Uuid = row.get(0);
        let inserted: bool = row.get(1);
        let priority: String = row.get(2);
        let priority_set_by: Option<String> = row.get(3);
        let details = json!({
            "revision": item.revision,
            "message_id": delivery.message_id.to_string(),
            "method": triaged.method,
            "note": triaged.note,
            "model": triaged.model.as_str(),
            "prompt_version": triage::prompt::PROMPT_VERSION,
            "category": answer.category,
            "priority": answer.priority,
            "priority_kept": priority_set_by.as_ref().map(|by| json!({"priority": priority, "set_by": by})),
            "sentiment": answer.sentiment,
            "sentiment_bucket": metrics::SentimentBucket::of(answer.sentiment),
            "summary": answer.summary,
            "language": answer.language,
            "matched": triaged.matched,
            "model_calls": triaged.model_calls,
            "input_tokens": triaged.input_tokens,
            "output_tokens": triaged.output_tokens,
            "cost_micros": triaged.cost.micros(),
            "repaired": triaged.repaired,
        });
        tx.execute(
            "INSERT INTO processing_logs (ticket_id, action, actor, details, duration_ms) VALUES ($1, $2, $3, $4, $5)",
            &[
                &ticket_id,
                &if inserted { "triaged" } else { "retriaged" },
                &triaged.model.as_str(),
                &details,
                &duration_ms,
            ],
        )
        .await?;
        let event = Envelope::new(
            Producer::LlmAnalyzer,
            delivery.correlation_id.clone(),
            Payload::FeedbackTriaged(FeedbackTriaged {
                ticket_id,
                source: item.source,
                external_id: item.external_id.clone(),
                category: answer.category.as_str().to_owned(),
                priority,
                sentiment: answer.sentiment,
                summary: answer.summary.clone(),
                model: triaged.model.clone(),
            }),
        )
        .with_derived_id(key);
        EventPublisher::stage(&tx, &Destination::Topic(self.config.events_topic_arn.clone()), &event)
            .await
            .map_err(|e| TriageError::Outbox(e.to_string()))?;
        tx.commit().await?;
        tracing::info!(%ticket_id, source = item.source.as_str(), category = %answer.category,
            priority = %answer.priority, method = ?triaged.method, model = %triaged.model, duration_ms,
            retriaged = !inserted, "feedback triaged");
        Ok(Some(ticket_id))
    }

    /// Whether the ticket already shows a revision newer than `item`'s (by their times at
    /// the source).
    async fn is_older_than_stored(&self, item: &FeedbackReceived) -> Result<bool, TriageError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT 1 FROM tickets WHERE source = $1 AND external_id = $2 AND revised_at > $3",
                &[&item.source.as_str(), &item.external_id, &item.received_at],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Counts the ticket of an item already triaged, if it is not counted yet.
    async fn count_existing(&self, item: &FeedbackReceived) -> Result<(), TriageError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT id FROM tickets WHERE source = $1 AND external_id = $2 AND counted_at IS NULL",
                &[&item.source.as_str(), &item.external_id],
            )
            .await?;
        drop(client);
        match row {
            Some(row) => self.count(row.get(0)).await,
            None => Ok(()),
        }
    }

    /// Adds the ticket to its day's counters exactly once (see the module notes).
    async fn count(&self, ticket_id: Uuid) -> Result<(), TriageError> {
        let client = self.pool.get().await?;
        let Some(row) = client
            .query_opt(
                "SELECT source, category, sentiment, priority, received_at FROM tickets
                 WHERE id = $1 AND counted_at IS NULL",
                &[&ticket_id],
            )
            .await?
        else {
            return Ok(());
        };
        let (source, category, priority): (String, String, String) = (row.get(0), row.get(1), row.get(3));
        let received_at: DateTime<Utc> = row.get(4);
        let ticket = CountedTicket {
            day: received_at.date_naive(),
            source: &source,
            category: &category,
            sentiment: row.get(2),
            priority: &priority,
        };
        if metrics::is_expired(ticket.day, Utc::now().date_naive()) {
            tracing::info!(%ticket_id, day = %ticket.day, "the ticket's day is past the counters' retention; not counted");
        } else if self.add_to_counters(ticket_id, &ticket).await? {
            tracing::info!(%ticket_id, day = %ticket.day, "ticket counted");
        } else {
            tracing::info!(%ticket_id, "ticket was already in the counters");
        }
        client
            .execute(
                "UPDATE tickets SET counted_at = now() WHERE id = $1 AND counted_at IS NULL",
                &[&ticket_id],
            )
            .await?;
        Ok(())
    }

    /// One transaction: the marker (only if absent) and every counter's `ADD`.
    /// False when the marker was already there (counted before).
    async fn add_to_counters(&self, ticket_id: Uuid, ticket: &CountedTicket<'_>) -> Result<bool, TriageError> {
        let table = &self.config.metrics_table;
        let expires = AttributeValue::N(metrics::expires_at(ticket.day).to_string());
        let (marker_pk, marker_sk) = metrics::marker_key(&ticket_id.to_string());
        let bad = |e: aws_sdk_dynamodb::error::BuildError| TriageError::Counters(e.to_string());
        let marker = Put::builder()
            .table_name(table)
            .item("pk", AttributeValue::S(marker_pk))
            .item("sk", AttributeValue::S(marker_sk))
            .item("day", AttributeValue::S(ticket.day.to_string()))
            .item(metrics::EXPIRES_ATTR, expires.clone())
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(bad)?;
        let mut items = vec![TransactWriteItem::builder().put(marker).build()];
        for key in metrics::counter_keys(ticket) {
            let update = Update::builder()
                .table_name(table)
                .key("pk", AttributeValue::S(key.pk))
                .key("sk", AttributeValue::S(key.sk))
                .update_expression("ADD #count :one SET #expires = :expires")
                .expression_attribute_names("#count", metrics::COUNT_ATTR)
                .expression_attribute_names("#expires", metrics::EXPIRES_ATTR)
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":expires", expires.clone())
                .build()
                .map_err(bad)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        match self
            .dynamodb
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if marker_was_present(&e) => Ok(false),
            Err(e) => Err(TriageError::Counters(
                aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }
}

/// A transaction cancelled because the marker (the first item) already exists.
fn marker_was_present<R>(e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            match cancelled.cancellation_reasons() {
                [] => cancelled
                    .message()
                    .is_some_and(|m| m.contains("ConditionalCheckFailed")),
                [first, ..] => first.code() == Some("ConditionalCheckFailed"),
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_messages::FeedbackSource;

    fn item() -> FeedbackReceived {
        FeedbackReceived {
            source: FeedbackSource::Zendesk,
            external_id: "4711".into(),
            revision: "2026-11-22T10:00:00Z".into(),
            author: None,
            rating: None,
            subject: None,
            text: "It crashes.".into(),
            language: None,
            received_at: Utc::now(),
            link: None,
        }
    }

    #[test]
    fn the_delivery_key_is_the_items_identity_and_revision() {
        assert_eq!(delivery_key(&item()), "zendesk:4711:2026-11-22T10:00:00Z");
    }

    #[test]
    fn items_that_can_never_be_triaged_are_refused() {
        assert!(validate(&item()).is_ok());
        let mut no_text = item();
        no_text.text = "  ".into();
        assert!(validate(&no_text).unwrap_err().contains("nothing to triage"));
        no_text.subject = Some("Crash on login".into());
        assert!(validate(&no_text).is_ok());
        let mut stars = item();
        stars.rating = Some(6);
        assert!(validate(&stars).is_err());
        let mut id = item();
        id.external_id = " ".into();
        assert!(validate(&id).is_err());
        let mut revision = item();
        revision.revision = String::new();
        assert!(validate(&revision).is_err());
    }
}
