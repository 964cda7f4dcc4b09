//! The full load, measured as the pipeline runs it: the file is uploaded to the bench bucket
//! (not timed), then ingest-validator checks it (checksum, encoding, header), records the
//! data version and queues `DatasetUploaded` on the ETL FIFO queue; the message is received
//! from that queue and etl-transformer loads it (streaming parse on a blocking thread, COPY
//! into a temp staging table, set-based dedup/classify/upsert in one transaction, change
//! report and outbox). Both handlers run in this process, so its peak RSS is theirs.
//!
//! `--template DB` starts from a copy of a preloaded database (the table-size series);
//! `--first FILE` loads FILE through the same pipeline first, untimed, then `VACUUM
//! ANALYZE`s the table (what autovacuum does between two uploads), so the measured file
//! updates the rows FILE inserted (the full-edit load: a file with the same keys and new values).

use crate::stack::{BenchDb, BenchStack};
use anyhow::{anyhow, bail, Context};
use aws_sdk_s3::primitives::ByteStream;
use etl_transformer::LoadOutcome;
use ingest_validator::notice::UploadNotice;
use ingest_validator::UploadOutcome;
use serde::Serialize;
use sluice_bench::rss;
use sluice_core::Clock;
use sluice_core::ConfigSource;
use sluice_local::Functions;
use sluice_messages::{CorrelationId, Envelope, Payload};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize)]
pub struct EtlReport {
    pub bench: &'static str,
    pub file: String,
    pub file_bytes: u64,
    pub status: String,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub stale: u64,
    pub superseded: u64,
    /// Rows in the table after the load (checked against `inserted` and the rows before).
    pub table_rows: i64,
    /// Rows in the table before the measured load (the template's and `--first`'s).
    pub rows_before: i64,
    /// The file loaded first, untimed (`--first`), and what it inserted.
    pub first_file: Option<String>,
    pub template: Option<String>,
    /// ingest-validator: HEAD, GET through SHA-256, header checks, data version, outbox, send.
    pub ingest_s: f64,
    /// Receiving the message from the ETL FIFO queue.
    pub queue_s: f64,
    /// etl-transformer's `load`, from the message to the committed load and its published event.
    pub etl_s: f64,
    pub total_s: f64,
    /// Written (inserted + updated) rows per second of `total_s`: the full S3-to-PostgreSQL load.
    pub rows_per_s: f64,
    /// Written rows per second of `etl_s` only.
    pub etl_rows_per_s: f64,
    /// Peak RSS (VmHWM) during the load, in MiB: the transformer's peak.
    pub peak_rss_mb: f64,
    /// Peak RSS during ingest, in MiB.
    pub ingest_peak_rss_mb: f64,
    /// RSS when the measured part started (runtime, clients, pool), in MiB.
    pub baseline_rss_mb: f64,
    /// Peak RSS of the set-up before (migrations, provisioning, upload), in MiB; not the load's.
    pub setup_peak_rss_mb: f64,
    /// After the load, untimed in the figures: one plain GET of the object, drained.
    pub s3_get_s: f64,
    /// SQL run on the bench database after the migrations (`--prepare`, experiments only).
    pub prepare: Option<String>,
}

pub async fn run(
    file: &Path,
    prepare: Option<&str>,
    template: Option<&str>,
    first: Option<&Path>,
) -> anyhow::Result<EtlReport> {
    let cfg = ConfigSource::from_env();
    let db = BenchDb::create_from(&cfg, "etl", prepare, template).await?;
    let stack = match BenchStack::create().await {
        Ok(s) => s,
        Err(e) => {
            db.drop_db().await;
            return Err(e);
        }
    };
    let mut result = measure(&cfg, &db, &stack, file, first).await;
    if let Ok(report) = &mut result {
        report.prepare = prepare.map(str::to_owned);
        report.template = template.map(str::to_owned);
    }
    stack.teardown().await;
    db.drop_db().await;
    result
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Uploads `file` to the bench bucket (streamed from disk, never held in memory).
async fn upload(stack: &BenchStack, file: &Path) -> anyhow::Result<UploadNotice> {
    let (s3, bucket) = (&stack.clients.s3, &stack.res.bucket);
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{} has no usable file name", file.display()))?;
    let key = format!("uploads/kpis/{name}");
    let size = std::fs::metadata(file)?.len();
    let body = ByteStream::from_path(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("text/csv; charset=utf-8")
        .body(body)
        .send()
        .await
        .map_err(|e| anyhow!("uploading to S3: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(UploadNotice {
        bucket: bucket.clone(),
        key,
        size,
        etag: put.e_tag().map(str::to_owned),
        version_id: put.version_id().map(str::to_owned),
        sequencer: None,
        event_time: None,
        principal: Some("sluice-bench".into()),
    })
}

async fn table_rows(db: &BenchDb) -> anyhow::Result<i64> {
    Ok(db
        .pool
        .get()
        .await?
        .query_one("SELECT count(*) FROM kpis", &[])
        .await?
        .get(0))
}

async fn measure(
    cfg: &ConfigSource,
    db: &BenchDb,
    stack: &BenchStack,
    file: &Path,
    first: Option<&Path>,
) -> anyhow::Result<EtlReport> {
    // The runner's functions, each by its constructor; tokens are not used here.
    let cfg = match cfg.optional::<String>("LOCAL_JWT_SECRET")? {
        Some(_) => cfg.clone(),
        None => cfg.clone().with("LOCAL_JWT_SECRET", "sluice-bench-not-a-secret"),
    };
    let functions = Functions::build(&cfg, &stack.res, &db.settings, &stack.clients, Clock::system()).await?;
    let (s3, sqs, bucket) = (&stack.clients.s3, &stack.clients.sqs, &stack.res.bucket);
    if let Some(first) = first {
        let notice = upload(stack, first).await?;
        let uploaded = functions.ingest.handle_upload(&notice, CorrelationId::new()).await?;
        functions.ingest.outbox.flush().await?;
        if !matches!(uploaded, UploadOutcome::Queued(_)) {
            bail!("ingest-validator did not queue the first file: {uploaded:?}");
        }
        let envelope = receive(sqs, &stack.res.etl.url).await?;
        let Payload::DatasetUploaded(upload) = &envelope.payload else {
            bail!("the ETL queue carried {}", envelope.payload.kind());
        };
        let outcome = functions.etl.load(upload, &envelope.correlation_id).await?;
        if !matches!(outcome, LoadOutcome::Loaded { .. }) {
            bail!("the first load did not complete: {outcome:?}");
        }
        db.pool.get().await?.batch_execute("VACUUM ANALYZE kpis").await?;
    }
    let rows_before = table_rows(db).await?;
    let notice = upload(stack, file).await?;
    let (key, size) = (notice.key.clone(), notice.size);

    let setup = rss::read()?;
    rss::reset_peak()?;
    let baseline = rss::read()?;
    let started = Instant::now();
    let uploaded = functions.ingest.handle_upload(&notice, CorrelationId::new()).await?;
    // What the batch processor does after each record: send what it staged.
    functions.ingest.outbox.flush().await?;
    let ingest_s = started.elapsed().as_secs_f64();
    if !matches!(uploaded, UploadOutcome::Queued(_)) {
        bail!("ingest-validator did not queue the file: {uploaded:?}");
    }
    let ingest_mem = rss::read()?;
    rss::reset_peak()?;

    let queued = Instant::now();
    let envelope = receive(sqs, &stack.res.etl.url).await?;
    let queue_s = queued.elapsed().as_secs_f64();
    let Payload::DatasetUploaded(upload) = &envelope.payload else {
        bail!("the ETL queue carried {}", envelope.payload.kind());
    };
    let loading = Instant::now();
    let outcome = functions.etl.load(upload, &envelope.correlation_id).await?;
    let etl_s = loading.elapsed().as_secs_f64();
    let total_s = started.elapsed().as_secs_f64();
    let etl_mem = rss::read()?;
    let LoadOutcome::Loaded { status, counts } = outcome else {
        bail!("the load did not complete: {outcome:?}");
    };

    let table_rows = table_rows(db).await?;
    if table_rows != rows_before + counts.inserted as i64 {
        bail!(
            "kpis has {table_rows} rows but held {rows_before} and the load reports {} inserted",
            counts.inserted
        );
    }
    let written = (counts.inserted + counts.updated) as f64;
    let got = Instant::now();
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| anyhow!("S3 GET: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let mut body = object.body;
    while body.try_next().await?.is_some() {}
    let s3_get_s = got.elapsed().as_secs_f64();

    Ok(EtlReport {
        bench: "etl",
        file: file.display().to_string(),
        file_bytes: size,
        status: status.as_str().to_owned(),
        inserted: counts.inserted,
        updated: counts.updated,
        unchanged: counts.unchanged,
        rejected: counts.rejected,
        stale: counts.stale,
        superseded: counts.superseded,
        table_rows,
        rows_before,
        first_file: first.map(|f| f.display().to_string()),
        template: None,
        ingest_s,
        queue_s,
        etl_s,
        total_s,
        rows_per_s: written / total_s,
        etl_rows_per_s: written / etl_s,
        peak_rss_mb: mib(etl_mem.peak_kb),
        ingest_peak_rss_mb: mib(ingest_mem.peak_kb),
        baseline_rss_mb: mib(baseline.current_kb),
        setup_peak_rss_mb: mib(setup.peak_kb),
        s3_get_s,
        prepare: None,
    })
}

/// The one message ingest-validator queued (the bench queue holds nothing else).
async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> anyhow::Result<Envelope> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "receiving from the ETL queue: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        if let Some(message) = received.messages.unwrap_or_default().into_iter().next() {
            // Deleted as the batch processor deletes a handled record: left, it would come
            // back after its visibility timeout in place of the next file's (a full edit
            // loads two files through one queue).
            if let Some(receipt) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "deleting from the ETL queue: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        )
                    })?;
            }
            let body = message.body.unwrap_or_default();
            return Envelope::from_json(&body).context("the ETL queue message");
        }
    }
    bail!("no message arrived on the ETL queue within 60 s")
}
