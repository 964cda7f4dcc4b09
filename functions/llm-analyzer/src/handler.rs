//! The handler: an `AnalysisRequested` becomes an analysis in the global pool (made
//! once per filing, kind, model and prompt version), a charge made exactly once, and
//! an `AnalysisCompleted` or `AnalysisFailed` event for the task's user.

use crate::analysis::{analyse, sections_for, AnalysisError, SectionInput};
use crate::provider::{LanguageModel, ProviderConfig};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_s3::primitives::ByteStream;
use sluice_core::idempotency::{self, Claim};
use sluice_core::ledger::{self, Charge, ChargeKind, ChargeOutcome};
use sluice_core::lifecycle::{self, LifecycleError, Made, PoolClaim, PoolKey, QuotedFees};
use sluice_core::retry::Backoff;
use sluice_core::{
    db, BatchProcessor, ConfigError, ConfigSource, Delivery, Destination, EventPublisher, Pool, RecordError,
};
use sluice_filing_sections::{FilingSections, SectionStatus};
use sluice_messages::{
    AnalysisCompleted, AnalysisKind, AnalysisRequested, Envelope, FilingType, Money, Payload, Producer, TaskStatus,
    UserTier,
};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const SERVICE: &str = "llm-analyzer";

#[derive(Debug, Clone)]
pub struct AnalyzerConfig {
    pub document_bucket: String,
    pub events_topic_arn: String,
    /// How long a worker owns a `running` pool entry before another may take it over.
    pub lease: Duration,
    /// How long a worker waits for a peer's running analysis of the same key before
    /// handing its message back to the queue.
    pub peer_wait: Duration,
    pub backoff: Backoff,
}

impl AnalyzerConfig {
    /// Retries of model calls follow the provider's settings (`LLM_MAX_ATTEMPTS`, `LLM_BACKOFF_MS`).
    pub fn load(cfg: &ConfigSource, provider: &ProviderConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            document_bucket: cfg.required("DOCUMENT_BUCKET")?,
            events_topic_arn: cfg.required("EVENTS_TOPIC_ARN")?,
            lease: Duration::from_secs(cfg.or("ANALYSIS_LEASE_SECS", 600u64)?),
            peer_wait: Duration::from_secs(cfg.or("ANALYSIS_PEER_WAIT_SECS", 60u64)?),
            backoff: provider.backoff(),
        })
    }
}

/// The analysis requests consumer, built once per instance by [`crate::LlmAnalyzer::build`].
#[derive(Clone)]
pub struct Analyzer {
    pub pool: Pool,
    pub s3: aws_sdk_s3::Client,
    pub model: Arc<dyn LanguageModel>,
    pub config: AnalyzerConfig,
    /// The analyses queue's consumer (its DLQ: `DEAD_LETTER_QUEUE_URL`).
    pub processor: BatchProcessor,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("not an analysis request: {0}")]
    Malformed(String),
    #[error("the model is unavailable: {0}")]
    Model(String),
    #[error("another worker is still making this analysis")]
    PeerBusy,
    #[error("S3: {0}")]
    Storage(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
}

impl RecordError for AnalyzeError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Malformed(_) => false,
            Self::Database(e) => !db::is_permanent(e),
            Self::Lifecycle(e) => e.is_retryable(),
            Self::Ledger(e) => e.is_retryable(),
            Self::Model(_) | Self::PeerBusy | Self::Storage(_) | Self::Pool(_) => true,
        }
    }
}

/// The filing a task analyses, as stored by filing-fetcher.
struct TaskFiling {
    company: String,
    form: FilingType,
    sections_key: String,
    tier: UserTier,
}

/// The pool entry a task ends with, and whether it was made for this task (which then
/// pays the analysis fee; a redelivery after a crash between making and charging still
/// knows, because the entry records the task it was made for).
struct PoolEntry {
    id: Uuid,
    made_for_this_task: bool,
}

enum Outcome {
    Ready(PoolEntry),
    /// The analysis can never be made (no usable sections, an answer that does not fit the schema).
    Failed(String),
}

impl Analyzer {
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor.consume(event, |d| self.handle_delivery(d)).await
    }

    pub async fn handle_delivery(&self, delivery: Delivery<AnalysisRequested>) -> Result<(), AnalyzeError> {
        let request = &delivery.payload;
        let key = delivery.message_id.to_string();
        let Some(filing) = self.task_filing(request, &key).await? else {
            return Ok(());
        };
        match self.pool_entry(request, &filing).await? {
            Outcome::Ready(entry) => self.complete(&delivery, &filing, &entry).await,
            Outcome::Failed(reason) => self.fail(&delivery, &reason).await,
        }
    }

    /// The task's filing, or `None` when there is nothing to do (already handled, or
    /// the task is no longer waiting for an analysis).
    async fn task_filing(&self, request: &AnalysisRequested, key: &str) -> Result<Option<TaskFiling>, AnalyzeError> {
        let client = self.pool.get().await?;
        if idempotency::already_processed(&**client, SERVICE, key).await? {
            return Ok(None);
        }
        let row = client
            .query_opt(
                "SELECT f.company_name, f.form, f.sections_key, u.tier
                 FROM tasks t JOIN filings f ON f.id = $2 JOIN user_accounts u ON u.user_id = t.user_id
                 WHERE t.id = $1 AND t.status = $3",
                &[&request.task_id, &request.filing_id, &TaskStatus::Analysing.as_str()],
            )
            .await?;
        let Some(row) = row else {
            tracing::info!(task_id = %request.task_id, "task is not waiting for an analysis; nothing to do");
            return Ok(None);
        };
        let form: String = row.get(1);
        let tier: String = row.get(3);
        Ok(Some(TaskFiling {
            company: row.get(0),
            form: FilingType::parse(&form).map_err(|e| AnalyzeError::Malformed(e.to_string()))?,
            sections_key: row.get(2),
            tier: UserTier::parse(&tier).map_err(|e| AnalyzeError::Malformed(e.to_string()))?,
        }))
    }

    /// Finds or makes the pool entry. Exactly one worker holds a key's lease; the
    /// others wait for its result instead of calling the model again.
    async fn pool_entry(&self, request: &AnalysisRequested, filing: &TaskFiling) -> Result<Outcome, AnalyzeError> {
        let key = PoolKey::new(request.filing_id, request.kind, self.model.model().clone());
        let started = tokio::time::Instant::now();
        loop {
            let claim = {
                let client = self.pool.get().await?;
                lifecycle::claim(&client, &key, self.config.lease, request.task_id).await?
            };
            match claim {
                PoolClaim::Claimed(id) => return self.make(id, request, filing).await,
                PoolClaim::Completed { id, made_for_task } => {
                    return Ok(Outcome::Ready(PoolEntry {
                        id,
                        made_for_this_task: made_for_task == Some(request.task_id),
                    }))
                }
                PoolClaim::Busy if started.elapsed() >= self.config.peer_wait => return Err(AnalyzeError::PeerBusy),
                PoolClaim::Busy => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// This worker holds the lease: run the model and complete (or fail) the entry.
    async fn make(&self, id: Uuid, request: &AnalysisRequested, filing: &TaskFiling) -> Result<Outcome, AnalyzeError> {
        let sections = self.sections(&filing.sections_key).await?;
        let inputs = usable_sections(&sections, request.kind, filing.form);
        let result = if inputs.is_empty() {
            Err(AnalysisError::NoUsableSections(format!(
                "the filing has none of the sections a {} analysis of a {} reads ({})",
                request.kind,
                filing.form,
                sections_for(request.kind, filing.form).join(", ")
            )))
        } else {
            analyse(
                self.model.as_ref(),
                request.kind,
                &filing.company,
                filing.form,
                &inputs,
                self.config.backoff,
            )
            .await
        };
        let client = self.pool.get().await?;
        match result {
            Ok(output) => {
                let body_key = format!("analyses/{id}.json");
                let body = serde_json::to_vec(&output.body).map_err(|e| AnalyzeError::Storage(e.to_string()))?;
                self.s3
                    .put_object()
                    .bucket(&self.config.document_bucket)
                    .key(&body_key)
                    .content_type("application/json")
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .map_err(|e| AnalyzeError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
                let made = Made {
                    body_key: &body_key,
                    input_tokens: output.input_tokens,
                    output_tokens: output.output_tokens,
                    cost: output.cost,
                    latency: output.latency,
                    model_calls: output.model_calls,
                    extractive: output.extractive,
                    sections_used: inputs.iter().map(|s| s.item.clone()).collect(),
                };
                if !lifecycle::complete_entry(&client, id, &made).await? {
                    // The lease ran out and a peer took the key: its result stands.
                    return Err(AnalyzeError::PeerBusy);
                }
                tracing::info!(analysis_id = %id, calls = output.model_calls, cost = output.cost.micros(),
                    input_tokens = output.input_tokens, output_tokens = output.output_tokens, "analysis made");
                Ok(Outcome::Ready(PoolEntry {
                    id,
                    made_for_this_task: true,
                }))
            }
            Err(e) => {
                // Hand the key back at once so the retry (or a peer) can take it.
                let reason = e.to_string();
                lifecycle::release_failed(&client, id, &reason).await?;
                if e.is_retryable() {
                    Err(AnalyzeError::Model(reason))
                } else {
                    Ok(Outcome::Failed(reason))
                }
            }
        }
    }

    async fn sections(&self, key: &str) -> Result<FilingSections, AnalyzeError> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.config.document_bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| AnalyzeError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| AnalyzeError::Storage(e.to_string()))?
            .into_bytes();
        serde_json::from_slice(&bytes).map_err(|e| AnalyzeError::Storage(format!("sections of {key}: {e}")))
    }

    /// Charges (once), completes the task and announces it — one transaction.
    async fn complete(
        &self,
        delivery: &Delivery<AnalysisRequested>,
        filing: &TaskFiling,
        entry: &PoolEntry,
    ) -> Result<(), AnalyzeError> {
        let request = &delivery.payload;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if idempotency::claim(&tx, SERVICE, &delivery.message_id.to_string()).await? == Claim::Repeat {
            return Ok(());
        }
        // The fees quoted when the task was accepted (older tasks: the tier's).
        let fees = match lifecycle::quoted_fees(&tx, request.task_id).await? {
            Some(fees) => fees,
            None => {
                let policy = filing.tier.policy();
                QuotedFees {
                    filing_access: policy.filing_access_fee,
                    analysis: policy.analysis_fee,
                }
            }
        };
        let access_fee = fees.filing_access;
        let access = ledger::grant_filing_access(
            &tx,
            &request.user_id,
            request.filing_id,
            access_fee,
            Some(request.task_id),
            format!("access to filing {}", request.accession),
        )
        .await?;
        let analysis_fee = if entry.made_for_this_task {
            fees.analysis
        } else {
            Money::ZERO
        };
        let analysis = ledger::charge(
            &tx,
            &Charge {
                user_id: &request.user_id,
                kind: ChargeKind::Analysis,
                amount: analysis_fee,
                idempotency_key: format!("analysis:{}", request.task_id),
                task_id: Some(request.task_id),
                filing_id: Some(request.filing_id),
                description: format!("{} analysis of filing {}", request.kind, request.accession),
            },
        )
        .await?;
        let charged = match (access, analysis) {
            (ChargeOutcome::Insufficient { balance }, _) | (_, ChargeOutcome::Insufficient { balance }) => {
                // Nothing of this transaction lands; the task fails and charges nothing.
                tx.rollback().await?;
                let reason = format!("your balance ({balance}) no longer covers this analysis's fees");
                return self.fail(delivery, &reason).await;
            }
            (a, b) => charged_amount(a, access_fee)
                .checked_add(charged_amount(b, analysis_fee))
                .unwrap_or(Money::from_micros(i64::MAX)),
        };
        if !lifecycle::complete(&tx, request.task_id, entry.id, charged).await? {
            // No longer waiting (given up meanwhile): nothing lands, nothing is charged.
            tx.rollback().await?;
            tracing::info!(task_id = %request.task_id, "task ended before its analysis; not completed");
            return Ok(());
        }
        lifecycle::count_access(&tx, entry.id).await?;
        let done = Envelope::new(
            Producer::LlmAnalyzer,
            delivery.correlation_id.clone(),
            Payload::AnalysisCompleted(AnalysisCompleted {
                task_id: request.task_id,
                user_id: request.user_id.clone(),
                analysis_id: entry.id,
                filing_id: request.filing_id,
                accession: request.accession.clone(),
                kind: request.kind,
                model: self.model.model().clone(),
                charged,
            }),
        )
        .with_derived_id(&request.task_id.to_string());
        EventPublisher::stage(&tx, &Destination::Topic(self.config.events_topic_arn.clone()), &done)
            .await
            .map_err(|e| AnalyzeError::Storage(e.to_string()))?;
        tx.commit().await?;
        tracing::info!(task_id = %request.task_id, analysis_id = %entry.id, charged = charged.micros(),
            pooled = !entry.made_for_this_task, "task completed");
        Ok(())
    }

    /// The task fails with `reason`; nothing is charged.
    async fn fail(&self, delivery: &Delivery<AnalysisRequested>, reason: &str) -> Result<(), AnalyzeError> {
        let topic = &self.config.events_topic_arn;
        Ok(lifecycle::fail(&self.pool, SERVICE, delivery, Producer::LlmAnalyzer, topic, reason).await?)
    }
}

/// The sections a kind reads, in its order, that the filing actually has.
pub fn usable_sections(sections: &FilingSections, kind: AnalysisKind, form: FilingType) -> Vec<SectionInput> {
    sections_for(kind, form)
        .iter()
        .filter_map(|item| sections.0.get(*item))
        .filter(|s| s.status == SectionStatus::Found && !s.text.trim().is_empty())
        .map(|s| SectionInput {
            item: s.item.clone(),
            title: s.title.clone(),
            text: s.text.clone(),
        })
        .collect()
}

fn charged_amount(outcome: ChargeOutcome, amount: Money) -> Money {
    match outcome {
        ChargeOutcome::Charged { .. } => amount,
        ChargeOutcome::AlreadyCharged | ChargeOutcome::Insufficient { .. } => Money::ZERO,
    }
}
