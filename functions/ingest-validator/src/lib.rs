//! ingest-validator: uploads to S3, checked before anyone spends work on them.
//!
//! - Spreadsheets under `uploads/<dataset>/`: dataset known, size within the limit,
//!   readable encoding, a header that maps to the dataset; recorded in
//!   `data_versions` and queued for etl-transformer on the ETL FIFO queue.
//! - Review exports under `uploads/reviews/` and raw e-mail under `inbound-email/`:
//!   each item becomes a `FeedbackReceived` on the feedback FIFO queue ([`feedback`]).
//!
//! - Team documents under `knowledge/`: chunked, embedded and stored for Ask Sluice's
//!   search and chat ([`knowledge`]).
//!
//! Notifications arrive through the uploads queue (S3 -> SQS) or from S3 directly.

pub mod feedback;
pub mod inspect;
pub mod knowledge;
pub mod notice;

use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use feedback::FeedbackIntake;
use notice::{parse_notification, Notification, UploadNotice, UploadOptions};
use sha2::{Digest, Sha256};
use sluice_core::idempotency::{self, Claim};
use sluice_core::metrics::{MetricSet, Unit};
use sluice_core::{
    Answer, BatchProcessor, ConfigError, ConfigSource, Destination, EventPublisher, Function, FunctionError, InitError,
    Instance, Outbox, PublishError, RecordError, Trigger,
};
use sluice_messages::{
    CorrelationId, DataVersionId, Dataset, DatasetUploaded, Envelope, Payload, Producer, Sha256Digest, UploadChecked,
    UploadVerdict,
};
use tracing::{info, warn, Instrument};

pub const SERVICE: &str = "ingest-validator";

#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub etl_queue_url: String,
    /// Where every upload's verdict is announced (`UploadChecked`).
    pub events_topic_arn: String,
    pub max_upload_bytes: u64,
}

impl IngestConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        Ok(Self {
            etl_queue_url: cfg.required("ETL_QUEUE_URL")?,
            events_topic_arn: cfg.required("EVENTS_TOPIC_ARN")?,
            max_upload_bytes: cfg.or("MAX_UPLOAD_BYTES", 200 * 1024 * 1024)?,
        })
    }
}

/// The function, built once per instance by [`Ingest::build`].
#[derive(Clone)]
pub struct Ingest {
    pub pool: Pool,
    pub s3: aws_sdk_s3::Client,
    pub config: IngestConfig,
    /// Review exports and e-mail.
    pub feedback: FeedbackIntake,
    /// The uploads queue's consumer (its DLQ: `DEAD_LETTER_QUEUE_URL`).
    pub processor: BatchProcessor,
    /// What this function stages (`DatasetUploaded`, `FeedbackReceived`).
    pub outbox: Outbox,
    /// Team documents for Ask Sluice.
    pub knowledge: knowledge::KnowledgeIntake,
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
    /// Reading, embedding or storing a knowledge document failed: retried.
    #[error("knowledge document: {0}")]
    Knowledge(String),
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

impl Ingest {
    /// The one constructor (Lambda, the local runner, the tests).
    pub fn build(instance: &Instance) -> Result<Self, InitError> {
        let outbox = instance.outbox(Producer::IngestValidator);
        Ok(Self {
            pool: instance.pool.clone(),
            s3: instance.s3(),
            config: IngestConfig::load(&instance.cfg)?,
            feedback: FeedbackIntake {
                pool: instance.pool.clone(),
                s3: instance.s3(),
                config: feedback::FeedbackConfig::load(&instance.cfg)?,
                clock: instance.clock,
            },
            processor: instance.processor("DEAD_LETTER_QUEUE_URL")?.with_outbox(outbox.clone()),
            outbox,
            knowledge: knowledge::KnowledgeIntake {
                pool: instance.pool.clone(),
                s3: instance.s3(),
                embedder: sluice_knowledge::embed::from_config(&instance.cfg, &instance.sdk)?,
            },
        })
    }

    /// S3 notifications delivered directly: each object in turn, then what they staged is sent.
    pub async fn handle_notifications(&self, event: S3Event) -> Result<(), IngestError> {
        // The same reading as a queued notification's (one parser for both routes in).
        let body = serde_json::to_string(&event).map_err(|e| IngestError::BadNotification(e.to_string()))?;
        if let Notification::Uploads(uploads) = parse_notification(&body).map_err(IngestError::BadNotification)? {
            for notice in uploads {
                self.handle_notice(&notice, CorrelationId::new()).await?;
            }
        }
        self.outbox.flush().await?;
        Ok(())
    }

    /// One S3 object: feedback (review exports, e-mail) or a spreadsheet upload.
    async fn handle_notice(&self, notice: &UploadNotice, correlation: CorrelationId) -> Result<(), IngestError> {
        if knowledge::is_knowledge(&notice.key) {
            self.knowledge
                .object(notice)
                .await
                .map_err(|e| IngestError::Knowledge(e.to_string()))?;
            return Ok(());
        }
        if let Some(kind) = feedback::feedback_object(&notice.key) {
            self.feedback
                .object(notice, kind)
                .await
                .map_err(|e| IngestError::Feedback(e.to_string()))?;
            return Ok(());
        }
        self.handle_upload(notice, correlation).await.map(|_| ())
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor.process(event, |record| self.handle_record(record)).await
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
                    return Ok(UploadOutcome::AlreadyHandled);
                }
            }
            let verdict = self.check(notice).await?;
            let outcome = self.record(notice, &key, verdict, &correlation).await?;
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
        let refusal = inspect::inspect(&sample, facts.size, dataset, &facts.options.column_map).err();
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
        // Every verdict is announced, so an uploader hears of a refusal as of a load.
        let checked = UploadChecked {
            data_version_id: version,
            dataset: facts.map(|f| f.dataset),
            bucket: notice.bucket.clone(),
            key: notice.key.clone(),
            verdict: match (&verdict.refusal, duplicate_of) {
                (Some(_), _) => UploadVerdict::Refused,
                (None, Some(_)) => UploadVerdict::Duplicate,
                (None, None) => UploadVerdict::Queued,
            },
            reason: verdict.refusal.clone(),
            duplicate_of: duplicate_of.map(DataVersionId),
            uploaded_by: uploaded_by.clone(),
        };
        let announcement = Envelope::new(
            Producer::IngestValidator,
            correlation.clone(),
            Payload::UploadChecked(checked),
        )
        .with_derived_id(&format!("checked:{version}"));
        EventPublisher::stage(
            &tx,
            &Destination::Topic(self.config.events_topic_arn.clone()),
            &announcement,
        )
        .await?;
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

impl Function for Ingest {
    /// The uploads queue (S3 -> SQS), or S3 notifications delivered directly.
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        match trigger {
            Trigger::Sqs(batch) => Ok(Answer::Batch(self.handle_batch(batch).await)),
            Trigger::S3(event) => {
                self.handle_notifications(event).await.map_err(FunctionError::failed)?;
                Ok(Answer::Batch(SqsBatchResponse::default()))
            }
            other => Err(FunctionError::Unsupported(other.kind().into())),
        }
    }
}
