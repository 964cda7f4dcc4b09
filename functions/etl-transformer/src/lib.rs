//! etl-transformer: loads a checked spreadsheet (a `DatasetUploaded` from the ETL
//! FIFO queue) into PostgreSQL as versioned rows, in one transaction per file, and
//! announces `DatasetLoaded` on the events topic.

pub mod copy;
pub mod parse;
pub mod plan;
pub mod report;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use bytes::Bytes;
use deadpool_postgres::Pool;
use futures::SinkExt;
use parse::{parse_into, ParseError, ParseSettings, ParseSummary};
use plan::LoadPlan;
use report::{ChangeReport, RowChange};
use sluice_core::idempotency::{self, Claim};
use sluice_core::metrics::{MetricSet, Unit};
use sluice_core::{
    Answer, BatchProcessor, ConfigError, ConfigSource, Delivery, Destination, EventPublisher, Function, FunctionError,
    InitError, Instance, PublishError, RecordError, Trigger,
};
use sluice_messages::{
    CorrelationId, DatasetLoaded, DatasetUploaded, Envelope, LoadCounts, LoadStatus, Payload, Producer,
};
use sluice_tabular::{DateOrder, DEFAULT_MAX_RECORD_BYTES};
use tracing::{info, warn, Instrument};

pub const SERVICE: &str = "etl-transformer";

#[derive(Debug, Clone)]
pub struct EtlConfig {
    pub events_topic_arn: String,
    /// How many changed rows the change report shows (and stale/superseded row numbers).
    pub report_rows: i32,
    /// How `01/02/2024` reads when an upload does not say (`dmy` or `mdy`).
    pub default_date_order: DateOrder,
    pub chunk_bytes: usize,
    /// PostgreSQL `work_mem` of a load's transaction, in MB.
    pub work_mem_mb: u32,
    /// The longest data record a load reads; a longer one fails the load.
    pub max_record_bytes: usize,
}

impl EtlConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        let order: String = cfg.or("DEFAULT_DATE_ORDER", "dmy".to_owned())?;
        Ok(Self {
            events_topic_arn: cfg.required("EVENTS_TOPIC_ARN")?,
            report_rows: cfg.or("CHANGE_REPORT_ROWS", 100)?,
            default_date_order: DateOrder::parse(&order).map_err(|e| ConfigError::Invalid {
                key: "DEFAULT_DATE_ORDER".into(),
                reason: e.to_string(),
            })?,
            chunk_bytes: cfg.or("COPY_CHUNK_BYTES", 256 * 1024)?,
            work_mem_mb: cfg.or("LOAD_WORK_MEM_MB", 64)?,
            max_record_bytes: cfg.or("MAX_RECORD_BYTES", DEFAULT_MAX_RECORD_BYTES)?,
        })
    }
}

/// The function, built once per instance by [`Etl::build`].
#[derive(Clone)]
pub struct Etl {
    pub pool: Pool,
    pub s3: aws_sdk_s3::Client,
    pub config: EtlConfig,
    /// The ETL queue's consumer (its DLQ: `DEAD_LETTER_QUEUE_URL`), flushing `DatasetLoaded`.
    pub processor: BatchProcessor,
}

#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    #[error("not a load this function can do: {0}")]
    BadMessage(String),
    #[error("S3: {0}")]
    Storage(String),
    #[error("reading the upload failed: {0}")]
    Read(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl RecordError for EtlError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::BadMessage(_) => false,
            Self::Database(e) => !sluice_core::db::is_permanent(e),
            _ => true,
        }
    }
}

/// How one load ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOutcome {
    Loaded {
        status: LoadStatus,
        counts: LoadCounts,
    },
    /// The file could not be loaded at all; recorded as `failed` with the reason.
    Failed {
        reason: String,
    },
    /// A redelivery: this version was loaded before and nothing changed.
    AlreadyLoaded,
}

impl Etl {
    /// The one constructor (Lambda, the local runner, the tests).
    pub fn build(instance: &Instance) -> Result<Self, InitError> {
        Ok(Self {
            pool: instance.pool.clone(),
            s3: instance.s3(),
            config: EtlConfig::load(&instance.cfg)?,
            processor: instance
                .processor("DEAD_LETTER_QUEUE_URL")?
                .with_outbox(instance.outbox(Producer::EtlTransformer)),
        })
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor.consume(event, |d| self.handle_delivery(d)).await
    }

    pub async fn handle_delivery(&self, delivery: Delivery<DatasetUploaded>) -> Result<(), EtlError> {
        self.load(&delivery.payload, &delivery.correlation_id).await.map(|_| ())
    }

    pub async fn load(&self, upload: &DatasetUploaded, correlation: &CorrelationId) -> Result<LoadOutcome, EtlError> {
        let span = tracing::info_span!("load", correlation_id = %correlation, data_version_id = %upload.data_version_id,
            dataset = %upload.dataset);
        async {
            let started = std::time::Instant::now();
            let key = upload.data_version_id.to_string();
            {
                let client = self.pool.get().await?;
                if idempotency::already_processed(&**client, SERVICE, &key).await? {
                    info!("version already loaded; nothing to do");
                    return Ok(LoadOutcome::AlreadyLoaded);
                }
                let exists = client
                    .query_opt(
                        "SELECT status FROM data_versions WHERE version_id = $1",
                        &[&upload.data_version_id.0],
                    )
                    .await?;
                if exists.is_none() {
                    return Err(EtlError::BadMessage(format!(
                        "data version {} does not exist",
                        upload.data_version_id
                    )));
                }
            }
            let outcome = match self.load_file(upload, correlation, &key).await? {
                Ok(outcome) => outcome,
                Err(reason) => self.record_failure(upload, correlation, &key, reason).await?,
            };
            if let LoadOutcome::Loaded { counts, .. } = &outcome {
                let mut m = MetricSet::new(SERVICE).dimension("Dataset", upload.dataset.as_str());
                m.put("RowsInserted", Unit::Count, counts.inserted as f64)
                    .put("RowsUpdated", Unit::Count, counts.updated as f64)
                    .put("RowsRejected", Unit::Count, counts.rejected as f64)
                    .put("RowsStale", Unit::Count, counts.stale as f64)
                    .put("LoadTime", Unit::Milliseconds, started.elapsed().as_secs_f64() * 1000.0)
                    .emit();
            }
            info!(outcome = ?outcome, elapsed_ms = started.elapsed().as_millis() as u64, "load finished");
            Ok(outcome)
        }
        .instrument(span)
        .await
    }

    /// The whole load in one transaction. `Ok(Err(reason))`: the file cannot be
    /// loaded (nothing was written); `Err`: a transient failure, retry later.
    async fn load_file(
        &self,
        upload: &DatasetUploaded,
        correlation: &CorrelationId,
        key: &str,
    ) -> Result<Result<LoadOutcome, String>, EtlError> {
        let mut request = self.s3.get_object().bucket(&upload.bucket).key(&upload.key);
        request = match &upload.version_id {
            Some(v) => request.version_id(v),
            None => request.if_match(&upload.etag),
        };
        let object = match request.send().await {
            Ok(o) => o,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
                return Ok(Err("the file no longer exists in S3".into()));
            }
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("PreconditionFailed") => {
                return Ok(Err(
                    "the file was replaced after it was checked; the newer upload is loaded on its own".into(),
                ));
            }
            Err(e) => return Err(EtlError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string())),
        };

        let plan = LoadPlan::for_dataset(upload.dataset);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if idempotency::claim(&tx, SERVICE, key).await? == Claim::Repeat {
            return Ok(Ok(LoadOutcome::AlreadyLoaded));
        }
        // Set-based steps over a whole file hash in memory instead of spilling to disk.
        tx.batch_execute(&format!(
            "SET LOCAL work_mem = '{}MB'; {}",
            self.config.work_mem_mb, plan.create_stage
        ))
        .await?;

        // Parse on a blocking thread fed by the S3 stream; COPY its chunks as they come.
        let settings = ParseSettings {
            dataset: upload.dataset,
            overrides: upload.column_map.clone(),
            date_order: match upload.date_order.as_deref().map(DateOrder::parse) {
                Some(Ok(order)) => order,
                _ => self.config.default_date_order,
            },
            chunk_bytes: self.config.chunk_bytes,
            max_record_bytes: self.config.max_record_bytes,
        };
        let rejects_file = tempfile::NamedTempFile::new().map_err(|e| EtlError::Read(e.to_string()))?;
        let rejects_path = rejects_file.path().to_owned();
        let (chunks_tx, mut chunks_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let reader = tokio_util::io::SyncIoBridge::new(object.body.into_async_read());
        let parser = tokio::task::spawn_blocking(move || -> Result<ParseSummary, ParseError> {
            let file = rejects_file.reopen()?;
            let mut rejects = csv::Writer::from_writer(std::io::BufWriter::new(file));
            let mut emit = |chunk: Vec<u8>| chunks_tx.blocking_send(chunk).map_err(|_| ());
            let summary = parse_into(reader, &settings, &mut emit, &mut rejects)?;
            drop(rejects);
            // Keep the temp file alive until the summary is read: the path is used next.
            rejects_file.keep().map_err(|e| ParseError::Rejects(e.to_string()))?;
            Ok(summary)
        });
        let sink = tx.copy_in::<_, Bytes>(&plan.copy_stage).await?;
        futures::pin_mut!(sink);
        while let Some(chunk) = chunks_rx.recv().await {
            sink.send(Bytes::from(chunk)).await?;
        }
        let parsed = parser.await.map_err(|e| EtlError::Read(e.to_string()))?;
        let _rejects_cleanup = TempPath(rejects_path.clone());
        let summary = match parsed {
            Ok(s) => s,
            // The file itself is wrong: a terminal refusal, never a retry.
            Err(ParseError::Header(reason)) => return Ok(Err(reason)),
            Err(ParseError::TooLong(limit)) => return Ok(Err(limit.to_string())),
            Err(e) => return Err(EtlError::Read(e.to_string())),
        };
        sink.finish().await?;
        if summary.checksum != upload.checksum {
            return Ok(Err("the file's content differs from the upload that was checked".into()));
        }

        let limit = self.config.report_rows;
        let (superseded_count, superseded_rows): (i64, Vec<i64>) = if tx.execute(&plan.find_superseded, &[]).await? == 0
        {
            (0, Vec::new())
        } else {
            let superseded = tx.query_one(&plan.drop_superseded, &[&limit]).await?;
            (superseded.get(0), superseded.get(1))
        };
        let modified = upload.source_modified_at;
        tx.batch_execute(&plan.lock_table).await?;
        tx.batch_execute(&plan.match_sql(summary.staged_rows)).await?;
        let classified = tx.query_one(&plan.classify, &[&modified, &limit]).await?;
        let (stale, unchanged, stale_rows, matched): (i64, i64, Vec<i64>, i64) = (
            classified.get(0),
            classified.get(1),
            classified.get(2),
            classified.get(3),
        );
        let changes: Vec<RowChange> = tx
            .query(&plan.sample_changes, &[&modified, &(limit as i64)])
            .await?
            .into_iter()
            .map(|r| RowChange {
                row: r.get::<_, i64>(0) as u64,
                before: r.get(1),
                after: r.get(2),
            })
            .collect();
        let version = upload.data_version_id.0;
        let updated = tx.execute(&plan.update_changed, &[&modified, &version]).await? as i64;
        // Every staged row matched (a reload of the same keys): nothing to insert.
        let inserted = if matched as u64 == summary.staged_rows.saturating_sub(superseded_count as u64) {
            0
        } else {
            tx.execute(&plan.insert_new, &[&modified, &version]).await? as i64
        };

        let counts = LoadCounts {
            inserted: inserted as u64,
            updated: updated as u64,
            unchanged: unchanged as u64,
            rejected: summary.rejected_rows,
            stale: stale as u64,
            superseded: superseded_count as u64,
        };
        let staged_distinct = summary.staged_rows - counts.superseded;
        if counts.inserted + counts.updated + counts.unchanged + counts.stale != staged_distinct {
            warn!(?counts, staged_distinct, "load counts do not add up");
        }
        let status = if summary.rejected_rows == 0 {
            LoadStatus::Success
        } else if summary.staged_rows == 0 {
            LoadStatus::Failed
        } else {
            LoadStatus::Partial
        };

        // Reports are written before commit: a committed version never points at a
        // missing file, and a retried load rewrites the same keys.
        let rejects_key = if summary.rejected_rows > 0 {
            let key = format!("rejects/{}/{}.csv", upload.dataset, upload.checksum);
            let body = ByteStream::from_path(&rejects_path)
                .await
                .map_err(|e| EtlError::Read(e.to_string()))?;
            self.put(&upload.bucket, &key, body, "text/csv; charset=utf-8").await?;
            Some(key)
        } else {
            None
        };
        let report_key = format!("reports/{}/{}.json", upload.dataset, upload.data_version_id);
        let report = ChangeReport {
            data_version_id: upload.data_version_id,
            dataset: upload.dataset,
            file: format!("s3://{}/{}", upload.bucket, upload.key),
            status,
            counts,
            changes_truncated: counts.updated > changes.len() as u64,
            changes,
            stale_rows: stale_rows.into_iter().map(|r| r as u64).collect(),
            superseded_rows: superseded_rows.into_iter().map(|r| r as u64).collect(),
            extra_columns: summary.extra_columns.clone(),
            ignored_columns: summary.ignored_columns.clone(),
            rejects_key: rejects_key.clone(),
        };
        let report_json = serde_json::to_vec_pretty(&report).map_err(|e| EtlError::Read(e.to_string()))?;
        self.put(
            &upload.bucket,
            &report_key,
            ByteStream::from(report_json),
            "application/json",
        )
        .await?;

        let failure_reason =
            (status == LoadStatus::Failed).then(|| "every row was rejected; see the rejects file".to_owned());
        tx.execute(
            "UPDATE data_versions SET status = $2, failure_reason = $3, rows_imported = $4, rows_inserted = $5,
                 rows_updated = $6, rows_unchanged = $7, rows_rejected = $8, rows_stale = $9, rows_superseded = $10,
                 rejects_key = $11, change_report_key = $12, finished_at = now()
             WHERE version_id = $1",
            &[
                &upload.data_version_id.0,
                &status.as_str(),
                &failure_reason,
                &((inserted + updated) as i32),
                &(inserted as i32),
                &(updated as i32),
                &(unchanged as i32),
                &(summary.rejected_rows as i32),
                &(stale as i32),
                &(superseded_count as i32),
                &rejects_key,
                &report_key,
            ],
        )
        .await?;
        let loaded = DatasetLoaded {
            data_version_id: upload.data_version_id,
            dataset: upload.dataset,
            bucket: upload.bucket.clone(),
            key: upload.key.clone(),
            checksum: upload.checksum.clone(),
            status,
            counts,
            rejects_key,
            change_report_key: Some(report_key),
            failure_reason,
            uploaded_by: upload.uploaded_by.clone(),
        };
        self.stage_loaded(&tx, correlation, loaded).await?;
        tx.commit().await?;
        Ok(Ok(LoadOutcome::Loaded { status, counts }))
    }

    /// Records a file that cannot be loaded, once, and tells its uploader.
    async fn record_failure(
        &self,
        upload: &DatasetUploaded,
        correlation: &CorrelationId,
        key: &str,
        reason: String,
    ) -> Result<LoadOutcome, EtlError> {
        warn!(%reason, "file cannot be loaded");
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if idempotency::claim(&tx, SERVICE, key).await? == Claim::Repeat {
            return Ok(LoadOutcome::AlreadyLoaded);
        }
        tx.execute(
            "UPDATE data_versions SET status = 'failed', failure_reason = $2, finished_at = now() WHERE version_id = $1",
            &[&upload.data_version_id.0, &reason],
        )
        .await?;
        let loaded = DatasetLoaded {
            data_version_id: upload.data_version_id,
            dataset: upload.dataset,
            bucket: upload.bucket.clone(),
            key: upload.key.clone(),
            checksum: upload.checksum.clone(),
            status: LoadStatus::Failed,
            counts: LoadCounts::default(),
            rejects_key: None,
            change_report_key: None,
            failure_reason: Some(reason.clone()),
            uploaded_by: upload.uploaded_by.clone(),
        };
        self.stage_loaded(&tx, correlation, loaded).await?;
        tx.commit().await?;
        Ok(LoadOutcome::Failed { reason })
    }

    async fn stage_loaded(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        correlation: &CorrelationId,
        loaded: DatasetLoaded,
    ) -> Result<(), EtlError> {
        let version = loaded.data_version_id.to_string();
        let message = Envelope::new(
            Producer::EtlTransformer,
            correlation.clone(),
            Payload::DatasetLoaded(loaded),
        )
        .with_derived_id(&version);
        EventPublisher::stage(tx, &Destination::Topic(self.config.events_topic_arn.clone()), &message).await?;
        Ok(())
    }

    async fn put(&self, bucket: &str, key: &str, body: ByteStream, content_type: &str) -> Result<(), EtlError> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| EtlError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))
    }
}

/// Removes the rejects temp file when the load is done with it.
struct TempPath(std::path::PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Function for Etl {
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        match trigger {
            Trigger::Sqs(batch) => Ok(Answer::Batch(self.handle_batch(batch).await)),
            other => Err(FunctionError::Unsupported(other.kind().into())),
        }
    }
}
