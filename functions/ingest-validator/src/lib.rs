//! ingest-validator: the front door. An upload notification (S3 -> SQS) is checked
//! before anyone spends work on it (dataset known, size within the limit, readable
//! encoding, a header that maps to the dataset), recorded in `data_versions`, and
//! queued for etl-transformer on the ETL FIFO queue.

pub mod api;
pub mod feedback;
pub mod inspect;
pub mod notice;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use notice::{notice_from_record, parse_notification, Notification, S3Notification, UploadNotice, UploadOptions};
use sha2::{Digest, Sha256};
use sluice_core::idempotency::{self, Claim};
use sluice_core::metrics::{MetricSet, Unit};
use sluice_core::{BatchProcessor, ConfigError, ConfigSource, Destination, EventPublisher, PublishError, RecordError};
use sluice_messages::{
    CorrelationId, DataVersionId, Dataset, DatasetUploaded, Envelope, Payload, Producer, Sha256Digest,
};
use tracing::{info, warn, Instrument};

pub const SERVICE: &str = "ingest-validator";

#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub etl_queue_url: String,
    pub max_upload_bytes: u64,
    pub analyses: api::analyses::AnalysisConfig,
    /// Feedback intake (webhooks, review exports, e-mail), when `FEEDBACK_QUEUE_URL` is set.
    pub feedback: Option<feedback::FeedbackConfig>,
    /// `FEEDBACK_METRICS_TABLE`: the per-day feedback counters the metrics route reads.
    pub feedback_metrics_table: Option<String>,
}

impl IngestConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        Ok(Self {
            etl_queue_url: cfg.required("ETL_QUEUE_URL")?,
            max_upload_bytes: cfg.or("MAX_UPLOAD_BYTES", 200 * 1024 * 1024)?,
            analyses: api::analyses::AnalysisConfig::load(cfg)?,
            feedback: feedback::FeedbackConfig::load(cfg)?,
            feedback_metrics_table: cfg.optional("FEEDBACK_METRICS_TABLE")?,
        })
    }
}

/// Everything the handler needs, built once per instance by `main`.
#[derive(Clone)]
pub struct Ingest {
    pub pool: Pool,
    pub s3: aws_sdk_s3::Client,
    pub publisher: EventPublisher,
    pub config: IngestConfig,
    /// Quotes and daily bars for the HTTP API, when the quote cache is configured.
    pub market: Option<price_updater::MarketData>,
    /// For the feedback metrics (the counters table).
    pub dynamodb: aws_sdk_dynamodb::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("not an S3 upload notification: {0}")]
    BadNotification(String),
    #[error("reading the upload from S3 failed: {0}")]
    Storage(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Queueing feedback from S3 failed (S3 or the queue was unreachable): retried.
    #[error("feedback intake: {0}")]
    Feedback(String),
}

impl RecordError for IngestError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::BadNotification(_) => false,
            Self::Database(e) => !sluice_core::db::is_permanent(e),
            _ => true,
        }
    }
}

/// How one upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Passed the checks; `DatasetUploaded` is on the ETL queue.
    Queued(DataVersionId),
    /// Failed a check: recorded as `failed` with the reason; nothing else happens.
    Refused { version: DataVersionId, reason: String },
    /// Same bytes as the dataset's latest load: recorded as `duplicate`, not loaded again.
    Duplicate { version: DataVersionId, of: DataVersionId },
    /// This notification was handled before (a redelivery): nothing changed.
    AlreadyHandled,
}

/// The events ingest-validator is invoked with: the uploads queue, S3 directly, or
/// the HTTP API. (Order matters: each variant needs fields the later ones lack.)
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum IngestEvent {
    S3(S3Notification),
    Http(Box<aws_lambda_events::apigw::ApiGatewayV2httpRequest>),
    Sqs(SqsEvent),
}

/// What ingest-validator answers, matching the event it got.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum IngestResponse {
    Batch(SqsBatchResponse),
    Http(Box<aws_lambda_events::apigw::ApiGatewayV2httpResponse>),
}

impl Ingest {
    pub async fn handle(&self, event: IngestEvent, processor: &BatchProcessor) -> Result<IngestResponse, IngestError> {
        match event {
            IngestEvent::Http(request) => Ok(IngestResponse::Http(Box::new(self.api().handle(&request).await))),
            IngestEvent::Sqs(sqs) => Ok(IngestResponse::Batch(self.handle_batch(sqs, processor).await)),
            IngestEvent::S3(s3) => {
                for record in &s3.records {
                    if let Some(notice) = notice_from_record(record).map_err(IngestError::BadNotification)? {
                        self.handle_notice(&notice, CorrelationId::new()).await?;
                    }
                }
                Ok(IngestResponse::Batch(SqsBatchResponse::default()))
            }
        }
    }

    pub fn api(&self) -> api::Api {
        api::Api {
            pool: self.pool.clone(),
            market: self.market.clone(),
            analyses: api::analyses::Analyses {
                pool: self.pool.clone(),
                s3: self.s3.clone(),
                publisher: self.publisher.clone(),
                config: self.config.analyses.clone(),
            },
            feedback: self.feedback_intake(),
            tickets: api::tickets::Tickets {
                pool: self.pool.clone(),
                metrics: self
                    .config
                    .feedback_metrics_table
                    .clone()
                    .map(|table| api::tickets::MetricsTable {
                        dynamodb: self.dynamodb.clone(),
                        table,
                    }),
            },
        }
    }

    fn feedback_intake(&self) -> Option<feedback::FeedbackIntake> {
        self.config.feedback.clone().map(|config| feedback::FeedbackIntake {
            pool: self.pool.clone(),
            s3: self.s3.clone(),
            publisher: self.publisher.clone(),
            config,
        })
    }

    /// One S3 object: feedback (review exports, e-mail) or a spreadsheet upload.
    async fn handle_notice(&self, notice: &UploadNotice, correlation: CorrelationId) -> Result<(), IngestError> {
        if let Some(kind) = feedback::feedback_object(&notice.key) {
            let intake = self
                .feedback_intake()
                .ok_or_else(|| IngestError::Feedback("FEEDBACK_QUEUE_URL is not configured".into()))?;
            intake
                .object(notice, kind)
                .await
                .map_err(|e| IngestError::Feedback(e.to_string()))?;
            return Ok(());
        }
        self.handle_upload(notice, correlation).await.map(|_| ())
    }

    pub async fn handle_batch(&self, event: SqsEvent, processor: &BatchProcessor) -> SqsBatchResponse {
        processor.process(event, |record| self.handle_record(record)).await
    }

    pub async fn handle_record(&self, record: SqsMessage) -> Result<(), IngestError> {
        let body = record.body.as_deref().unwrap_or_default();
        let uploads = match parse_notification(body).map_err(IngestError::BadNotification)? {
            Notification::Test => return Ok(()),
            Notification::Uploads(u) => u,
        };
        for notice in uploads {
            // The upload's correlation id is derived from its identity, so a redelivery keeps it.
            let correlation = CorrelationId::parse(
                &sluice_messages::MessageId::derived("upload", &notice.idempotency_key()).to_string(),
            )
            .unwrap_or_default();
            self.handle_notice(&notice, correlation).await?;
        }
        Ok(())
    }

    pub async fn handle_upload(
        &self,
        notice: &UploadNotice,
        correlation: CorrelationId,
    ) -> Result<UploadOutcome, IngestError> {
        let span = tracing::info_span!("upload", correlation_id = %correlation, key = %notice.key);
        async {
            let key = notice.idempotency_key();
            {
                let client = self.pool.get().await?;
                if idempotency::already_processed(&**client, SERVICE, &key).await? {
                    info!("upload already handled; nothing to do");
                    self.publisher.flush(&self.pool, Producer::IngestValidator).await?;
                    return Ok(UploadOutcome::AlreadyHandled);
                }
            }
            let verdict = self.check(notice).await?;
            let outcome = self.record(notice, &key, verdict, &correlation).await?;
            self.publisher.flush(&self.pool, Producer::IngestValidator).await?;
            let mut metrics = MetricSet::new(SERVICE);
            let name = match &outcome {
                UploadOutcome::Queued(_) => "UploadsQueued",
                UploadOutcome::Refused { .. } => "UploadsRefused",
                UploadOutcome::Duplicate { .. } => "UploadsDuplicate",
                UploadOutcome::AlreadyHandled => "UploadsRedelivered",
            };
            metrics.put(name, Unit::Count, 1.0).emit();
            info!(outcome = ?outcome, "upload handled");
            Ok(outcome)
        }
        .instrument(span)
        .await
    }

    /// Reads the object once: its checksum, and a sample to judge encoding and header.
    async fn check(&self, notice: &UploadNotice) -> Result<Verdict, IngestError> {
        let dataset = match notice.dataset() {
            Ok(d) => d,
            Err(reason) => return Ok(Verdict::refused(None, reason)),
        };
        let head = self
            .s3
            .head_object()
            .bucket(&notice.bucket)
            .key(&notice.key)
            .set_version_id(notice.version_id.clone())
            .send()
            .await;
        let head = match head {
            Ok(h) => h,
            Err(e) if matches!(e.as_service_error(), Some(HeadObjectError::NotFound(_))) => {
                return Ok(Verdict::refused(
                    Some(dataset),
                    "the file no longer exists in S3".into(),
                ));
            }
            Err(e) => {
                return Err(IngestError::Storage(
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                ))
            }
        };
        let size = head.content_length().unwrap_or(0).max(0) as u64;
        let modified = head
            .last_modified()
            .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()))
            .unwrap_or_else(Utc::now);
        let etag = head
            .e_tag()
            .map(str::to_owned)
            .or_else(|| notice.etag.clone())
            .unwrap_or_default();
        let version_id = head
            .version_id()
            .map(str::to_owned)
            .or_else(|| notice.version_id.clone());
        let options = match UploadOptions::from_metadata(head.metadata().unwrap_or(&Default::default())) {
            Ok(o) => o,
            Err(reason) => {
                return Ok(Verdict::refused(
                    Some(dataset),
                    format!("bad upload metadata: {reason}"),
                ))
            }
        };
        let base = FileFacts {
            dataset,
            size,
            modified,
            etag,
            version_id,
            options,
            checksum: None,
        };
        if size == 0 {
            return Ok(Verdict {
                facts: Some(base),
                refusal: Some("the file is empty".into()),
            });
        }
        if size > self.config.max_upload_bytes {
            let reason = format!(
                "the file is {} bytes; the limit is {} bytes",
                size, self.config.max_upload_bytes
            );
            return Ok(Verdict {
                facts: Some(base),
                refusal: Some(reason),
            });
        }
        let (checksum, sample) = match self.read_checksum_and_sample(notice, &base).await? {
            Some(read) => read,
            None => {
                return Ok(Verdict {
                    facts: Some(base),
                    refusal: Some("the file changed or vanished while it was being checked".into()),
                })
            }
        };
        let facts = FileFacts {
            checksum: Some(checksum),
            ..base
        };
        let refusal = inspect::inspect(&sample, dataset, &facts.options.column_map).err();
        Ok(Verdict {
            facts: Some(facts),
            refusal,
        })
    }

    /// Streams the object through SHA-256, keeping only the first bytes. `None` when
    /// the object changed since HEAD (another upload replaced it: its own event follows).
    async fn read_checksum_and_sample(
        &self,
        notice: &UploadNotice,
        facts: &FileFacts,
    ) -> Result<Option<(Sha256Digest, Vec<u8>)>, IngestError> {
        let mut request = self.s3.get_object().bucket(&notice.bucket).key(&notice.key);
        request = match &facts.version_id {
            Some(v) => request.version_id(v),
            None => request.if_match(&facts.etag),
        };
        let object = match request.send().await {
            Ok(o) => o,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => return Ok(None),
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("PreconditionFailed") => return Ok(None),
            Err(e) => {
                return Err(IngestError::Storage(
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                ))
            }
        };
        let mut body = object.body;
        let mut hasher = Sha256::new();
        let mut sample = Vec::with_capacity(inspect::SAMPLE_BYTES);
        let mut read: u64 = 0;
        while let Some(chunk) = body.try_next().await.map_err(|e| IngestError::Storage(e.to_string()))? {
            read += chunk.len() as u64;
            if read > self.config.max_upload_bytes {
                // HEAD and the bytes disagree; refuse to hash an unbounded stream.
                return Ok(None);
            }
            hasher.update(&chunk);
            let room = inspect::SAMPLE_BYTES.saturating_sub(sample.len());
            sample.extend_from_slice(&chunk[..room.min(chunk.len())]);
        }
        Ok(Some((Sha256Digest::from_bytes(hasher.finalize().into()), sample)))
    }

    /// Writes the verdict: one `data_versions` row, and for a good file the queued
    /// message, in one transaction with the idempotency claim.
    async fn record(
        &self,
        notice: &UploadNotice,
        key: &str,
        verdict: Verdict,
        correlation: &CorrelationId,
    ) -> Result<UploadOutcome, IngestError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if idempotency::claim(&tx, SERVICE, key).await? == Claim::Repeat {
            return Ok(UploadOutcome::AlreadyHandled);
        }
        let facts = verdict.facts.as_ref();
        let uploaded_by = facts
            .and_then(|f| f.options.uploaded_by.clone())
            .or_else(|| notice.principal.clone());
        let dataset = facts.map(|f| f.dataset.as_str());
        let checksum = facts.and_then(|f| f.checksum.as_ref()).map(|c| c.to_string());
        if let Some(d) = dataset {
            // Uploads of one dataset are recorded one at a time, so two copies of a file
            // arriving together cannot both look new (the second would be lost to FIFO dedup).
            tx.execute("SELECT pg_advisory_xact_lock(hashtext('ingest:' || $1))", &[&d])
                .await?;
        }
        let duplicate_of: Option<i64> = match (&verdict.refusal, dataset, &checksum) {
            (None, Some(d), Some(sum)) => tx
                .query_opt(
                    "SELECT version_id, checksum FROM data_versions
                     WHERE table_name = $1 AND status IN ('pending', 'success', 'partial')
                     ORDER BY version_id DESC LIMIT 1",
                    &[&d],
                )
                .await?
                .filter(|row| row.get::<_, Option<String>>(1).as_deref() == Some(sum.as_str()))
                .map(|row| row.get(0)),
            _ => None,
        };
        let status = match (&verdict.refusal, duplicate_of) {
            (Some(_), _) => "failed",
            (None, Some(_)) => "duplicate",
            (None, None) => "pending",
        };
        let row = tx
            .query_one(
                "INSERT INTO data_versions (table_name, file_name, s3_path, s3_version, etag, size_bytes, checksum,
                     source_modified_at, imported_by, status, failure_reason, duplicate_of, correlation_id, finished_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                         CASE WHEN $10 = 'pending' THEN NULL ELSE now() END)
                 RETURNING version_id",
                &[
                    &dataset,
                    &notice.file_name(),
                    &format!("s3://{}/{}", notice.bucket, notice.key),
                    &facts.and_then(|f| f.version_id.clone()),
                    &facts.map(|f| f.etag.clone()),
                    &facts.map(|f| f.size as i64),
                    &checksum,
                    &facts.map(|f| f.modified),
                    &uploaded_by,
                    &status,
                    &verdict.refusal,
                    &duplicate_of,
                    &correlation.as_str(),
                ],
            )
            .await?;
        let version = DataVersionId(row.get(0));
        let outcome = match (verdict.refusal, duplicate_of, facts) {
            (Some(reason), _, _) => {
                warn!(%reason, "upload refused");
                UploadOutcome::Refused { version, reason }
            }
            (None, Some(of), _) => UploadOutcome::Duplicate {
                version,
                of: DataVersionId(of),
            },
            (None, None, Some(f)) => {
                let Some(checksum) = f.checksum.clone() else {
                    return Err(IngestError::Storage("checksum missing for a checked file".into()));
                };
                let message = Envelope::new(
                    Producer::IngestValidator,
                    correlation.clone(),
                    Payload::DatasetUploaded(DatasetUploaded {
                        data_version_id: version,
                        dataset: f.dataset,
                        bucket: notice.bucket.clone(),
                        key: notice.key.clone(),
                        version_id: f.version_id.clone(),
                        etag: f.etag.clone(),
                        size_bytes: f.size,
                        checksum,
                        source_modified_at: f.modified,
                        uploaded_by,
                        column_map: f.options.column_map.clone(),
                        date_order: f.options.date_order.clone(),
                    }),
                )
                .with_derived_id(&version.to_string());
                EventPublisher::stage(
                    &tx,
                    &Destination::FifoQueue(self.config.etl_queue_url.clone()),
                    &message,
                )
                .await?;
                UploadOutcome::Queued(version)
            }
            (None, None, None) => UploadOutcome::Refused {
                version,
                reason: "no file facts".into(),
            },
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

struct FileFacts {
    dataset: Dataset,
    size: u64,
    modified: DateTime<Utc>,
    etag: String,
    version_id: Option<String>,
    options: UploadOptions,
    checksum: Option<Sha256Digest>,
}

struct Verdict {
    facts: Option<FileFacts>,
    refusal: Option<String>,
}

impl Verdict {
    fn refused(dataset: Option<Dataset>, reason: String) -> Self {
        let facts = dataset.map(|dataset| FileFacts {
            dataset,
            size: 0,
            modified: Utc::now(),
            etag: String::new(),
            version_id: None,
            options: UploadOptions::default(),
            checksum: None,
        });
        Self {
            facts,
            refusal: Some(reason),
        }
    }
}
