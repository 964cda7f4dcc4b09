//! The handler: a `FilingRequested` becomes a stored filing with its sections and an
//! `AnalysisRequested` on the analysis queue, or a failed task with its reason.

use crate::edgar::{
    filing_fiscal_quarter, filing_fiscal_year, EdgarClient, EdgarConfig, EdgarError, FilingEntry, FiscalYearEnd,
};
use crate::prefill::DEMO_PREFILL;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_s3::primitives::ByteStream;
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use sluice_core::idempotency::{self, Claim};
use sluice_core::lifecycle::{self, LifecycleError};
use sluice_core::{
    db, Answer, BatchProcessor, Clock, ConfigError, ConfigSource, Delivery, Destination, EventPublisher, Function,
    FunctionError, InitError, Instance, Pool, RecordError, Trigger,
};
use sluice_filing_sections::FilingSections;
use sluice_messages::{
    AccessionNumber, AnalysisRequested, BulkFilingRequested, Cik, CompanyRef, Envelope, FilingPrefillRequested,
    FilingRequested, FilingSelector, FilingSpec, FilingType, FromPayload, Payload, Producer, Ticker, UserTier,
};
use std::time::Duration;
use uuid::Uuid;

pub const SERVICE: &str = "filing-fetcher";

/// Where filings go and what comes next.
#[derive(Debug, Clone)]
pub struct FetcherConfig {
    pub document_bucket: String,
    pub analyses_queue_url: String,
    /// `PRIORITY_ANALYSES_QUEUE_URL`: the priority lane, where the analyses of tiers with
    /// `priority_lane` (enterprise, professional) wait; unset: every tier waits in one lane.
    pub priority_analyses_queue_url: Option<String>,
    pub events_topic_arn: String,
    /// EDGAR's ticker directory is refreshed when older than this (at most daily).
    pub directory_max_age: Duration,
    /// `FILINGS_QUEUE_URL`: this function's own queue, where the demo prefill schedule
    /// queues the filings of the demo set (unset: the schedule refuses to run).
    pub filings_queue_url: Option<String>,
    /// `DEMO_PREFILL_COMPANIES_PER_TICK`: companies whose EDGAR list one tick reads.
    pub prefill_companies_per_tick: i64,
    /// `DEMO_PREFILL_REFRESH_HOURS`: a company's list is read again after this long.
    pub prefill_refresh_after: Duration,
}

impl FetcherConfig {
    /// The queue a tier's analyses wait in for a worker.
    pub fn analyses_lane(&self, tier: sluice_messages::UserTier) -> &str {
        match &self.priority_analyses_queue_url {
            Some(priority) if tier.policy().priority_lane => priority,
            _ => &self.analyses_queue_url,
        }
    }

    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        Ok(Self {
            document_bucket: cfg.required("DOCUMENT_BUCKET")?,
            analyses_queue_url: cfg.required("ANALYSES_QUEUE_URL")?,
            priority_analyses_queue_url: cfg.optional("PRIORITY_ANALYSES_QUEUE_URL")?,
            events_topic_arn: cfg.required("EVENTS_TOPIC_ARN")?,
            directory_max_age: Duration::from_secs(cfg.or("EDGAR_DIRECTORY_MAX_AGE_SECS", 86_400u64)?),
            filings_queue_url: cfg.optional("FILINGS_QUEUE_URL")?,
            prefill_companies_per_tick: i64::from(cfg.or("DEMO_PREFILL_COMPANIES_PER_TICK", 50u32)?.clamp(1, 500)),
            prefill_refresh_after: Duration::from_secs(
                cfg.or("DEMO_PREFILL_REFRESH_HOURS", 24u64)?.saturating_mul(3600),
            ),
        })
    }
}

/// The function, built once per instance by [`FilingFetcher::build`].
#[derive(Clone)]
pub struct FilingFetcher {
    pub pool: Pool,
    pub s3: aws_sdk_s3::Client,
    pub edgar: EdgarClient,
    pub config: FetcherConfig,
    /// The filing requests queue's consumer (its DLQ: `DEAD_LETTER_QUEUE_URL`).
    pub processor: BatchProcessor,
    /// Sends what the demo prefill schedule staged (the outbox).
    pub publisher: EventPublisher,
    pub clock: Clock,
    /// Ask Sluice: each stored filing's sections are chunked and embedded for search.
    pub knowledge: std::sync::Arc<dyn sluice_knowledge::Embedder>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("not a filing request: {0}")]
    Malformed(String),
    #[error("EDGAR: {0}")]
    Edgar(#[from] EdgarError),
    #[error("storing the filing in S3 failed: {0}")]
    Storage(String),
    /// Embedding or storing the filing's chunks for search failed: retried.
    #[error("indexing the filing for search failed: {0}")]
    Knowledge(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("section extraction stopped: {0}")]
    Extraction(String),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("not configured: {0}")]
    NotConfigured(String),
    #[error(transparent)]
    Bulk(#[from] sluice_core::bulk::BulkError),
    /// A filing that can be downloaded but not stored (its document cannot be read).
    #[error("the filing cannot be stored: {0}")]
    Unusable(String),
}

impl RecordError for FetchError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Malformed(_) | Self::NotConfigured(_) | Self::Unusable(_) => false,
            Self::Edgar(e) => e.is_retryable(),
            Self::Database(e) => !db::is_permanent(e),
            Self::Lifecycle(e) => e.is_retryable(),
            Self::Bulk(e) => e.is_retryable(),
            Self::Storage(_) | Self::Pool(_) | Self::Extraction(_) | Self::Knowledge(_) => true,
        }
    }
}

/// Why a task cannot be served, in words for its user. The task fails; nothing is charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal(String);

impl Refusal {
    pub(crate) fn reason(&self) -> &str {
        &self.0
    }
}

/// What the filing requests queue carries: a user's request, a filing of the demo set,
/// or a filing of a user's bulk import.
#[derive(Debug, Clone)]
pub enum FilingWork {
    Requested(FilingRequested),
    Prefill(FilingPrefillRequested),
    Bulk(BulkFilingRequested),
}

impl FromPayload for FilingWork {
    const EXPECTED: &'static str = "filing request";
    fn from_payload(payload: Payload) -> Option<Self> {
        match payload {
            Payload::FilingRequested(r) => Some(Self::Requested(r)),
            Payload::FilingPrefillRequested(p) => Some(Self::Prefill(p)),
            Payload::BulkFilingRequested(b) => Some(Self::Bulk(b)),
            _ => None,
        }
    }
}

/// What EDGAR says about a filing beyond its submissions row.
pub(crate) struct FilingFacts<'a> {
    pub(crate) cik: &'a Cik,
    pub(crate) company_name: &'a str,
    pub(crate) ticker: Option<String>,
    pub(crate) form: FilingType,
    pub(crate) fiscal_year: i32,
    /// A 10-Q's quarter of that year.
    pub(crate) fiscal_quarter: Option<u8>,
}

/// A filing stored in the `filings` table.
pub(crate) struct StoredFiling {
    id: Uuid,
    accession: AccessionNumber,
}

impl FilingFetcher {
    /// The one constructor (Lambda, the local runner, the tests). Refuses to start
    /// without a declared User-Agent (SEC fair access).
    pub fn build(instance: &Instance) -> Result<Self, InitError> {
        let edgar = EdgarConfig::load(&instance.cfg)
            .map_err(|e| InitError::unusable("EDGAR_USER_AGENT", e))
            .and_then(|c| EdgarClient::new(c).map_err(|e| InitError::unusable("EDGAR_WWW_BASE_URL", e)))?;
        Ok(Self {
            pool: instance.pool.clone(),
            s3: instance.s3(),
            edgar,
            config: FetcherConfig::load(&instance.cfg)?,
            processor: instance
                .processor("DEAD_LETTER_QUEUE_URL")?
                .with_outbox(instance.outbox(Producer::FilingFetcher)),
            publisher: instance.publisher(),
            clock: instance.clock,
            knowledge: sluice_knowledge::embed::from_config(&instance.cfg, &instance.sdk)?,
        })
    }

    /// The filing requests queue: users' requests and the demo prefill's filings.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor
            .consume(event, |d: Delivery<FilingWork>| async move {
                match d.payload.clone() {
                    FilingWork::Requested(r) => self.handle_delivery(d.map(|_| r)).await,
                    FilingWork::Prefill(p) => self.handle_prefill(d.map(|_| p)).await,
                    FilingWork::Bulk(b) => Box::pin(self.handle_bulk(d.map(|_| b))).await,
                }
            })
            .await
    }

    pub async fn handle_delivery(&self, delivery: Delivery<FilingRequested>) -> Result<(), FetchError> {
        let request = &delivery.payload;
        let key = delivery.message_id.to_string();
        let client = self.pool.get().await?;
        if idempotency::already_processed(&**client, SERVICE, &key).await? {
            tracing::info!(task_id = %request.task_id, "filing request already handled");
            return Ok(());
        }
        let waiting = lifecycle::start_fetching(&client, request.task_id).await?;
        drop(client);
        if !waiting {
            tracing::info!(task_id = %request.task_id, "task is no longer waiting for its filing; nothing to do");
            return Ok(());
        }
        match self.fetch(request).await? {
            Ok(filing) => self.queue_analysis(&delivery, &filing).await,
            Err(Refusal(reason)) => self.fail_task(&delivery, &reason).await,
        }
    }

    /// Finds, downloads (once) and splits the filing. `Ok(Err(_))` is a request that can never succeed.
    async fn fetch(&self, request: &FilingRequested) -> Result<Result<StoredFiling, Refusal>, FetchError> {
        if request.tier.policy().cached_filings_only {
            return self.cached(request).await;
        }
        self.fetch_spec(&request.spec, request.tier).await
    }

    /// A filing of a bulk import: fetched like a user's request (unless its item is no
    /// longer queued: cancelled, or done on an earlier delivery), then charged once and
    /// announced on the user's stream, or failed with its reason (nothing charged).
    pub async fn handle_bulk(&self, delivery: Delivery<BulkFilingRequested>) -> Result<(), FetchError> {
        let request = &delivery.payload;
        {
            let client = self.pool.get().await?;
            if !sluice_core::bulk::is_queued(&client, request.item_id).await? {
                tracing::info!(item_id = %request.item_id, "bulk import filing no longer queued; nothing to do");
                return Ok(());
            }
        }
        let outcome = self.fetch_spec(&request.spec, request.tier).await?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let progress = match &outcome {
            Ok(filing) => {
                let description = format!("bulk import: {} ({})", request.spec.key(), filing.accession);
                sluice_core::bulk::record_stored(&tx, &request.user_id, request.item_id, filing.id, description).await?
            }
            Err(Refusal(reason)) => {
                sluice_core::bulk::record_failed(&tx, &request.user_id, request.item_id, reason).await?
            }
        };
        if let Some(progress) = progress {
            sluice_core::bulk::announce(
                &tx,
                &self.config.events_topic_arn,
                Producer::FilingFetcher,
                progress,
                &request.item_id.to_string(),
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(
            item_id = %request.item_id,
            import_id = %request.import_id,
            stored = outcome.is_ok(),
            "bulk import filing settled"
        );
        Ok(())
    }

    /// Finds, downloads (once) and splits the filing `spec` names, for `tier`'s years.
    async fn fetch_spec(&self, spec: &FilingSpec, tier: UserTier) -> Result<Result<StoredFiling, Refusal>, FetchError> {
        let cik = match &spec.company {
            CompanyRef::Cik(cik) => cik.clone(),
            CompanyRef::Ticker(ticker) => match self.resolve_ticker(ticker).await? {
                Some(cik) => cik,
                None => return Ok(Err(Refusal(format!("EDGAR lists no company with the ticker {ticker}")))),
            },
        };
        if let FilingSelector::Accession(accession) = &spec.selector {
            if let Some(stored) = self.stored(accession).await? {
                return Ok(Ok(stored));
            }
        }
        let lookup = match self.edgar.find_filing(&cik, spec.form, &spec.selector).await {
            Ok(l) => l,
            Err(e) if !e.is_retryable() => {
                return Ok(Err(Refusal(format!("EDGAR has no filings for CIK {cik}: {e}"))));
            }
            Err(e) => return Err(e.into()),
        };
        let submissions = lookup.submissions;
        let Some(entry) = lookup.filing else {
            let which = match &spec.selector {
                FilingSelector::FiscalYear(y) => format!("for fiscal year {y}"),
                FilingSelector::FiscalQuarter { year, quarter } => format!("for fiscal {year} quarter {quarter}"),
                FilingSelector::Accession(a) => format!("with accession number {a}"),
            };
            return Ok(Err(Refusal(format!(
                "{} filed no {} {which}",
                submissions.name, spec.form
            ))));
        };
        let year = fiscal_year(&entry, submissions.fiscal_year_end);
        if let Some(earliest) = tier.policy().earliest_fiscal_year(self.clock.today()) {
            if year < earliest {
                return Ok(Err(Refusal(format!(
                    "your tier covers fiscal {earliest} on; this {} is for fiscal {year}",
                    spec.form
                ))));
            }
        }
        if let Some(stored) = self.stored(&entry.accession).await? {
            return Ok(Ok(stored));
        }
        let bytes = match self
            .edgar
            .document(&cik, &entry.accession, &entry.primary_document)
            .await
        {
            Ok(b) => b,
            Err(e) if !e.is_retryable() => {
                return Ok(Err(Refusal(format!(
                    "the filing's document could not be fetched from EDGAR: {e}"
                ))))
            }
            Err(e) => return Err(e.into()),
        };
        let ticker = match &spec.company {
            CompanyRef::Ticker(t) => Some(t.to_string()),
            CompanyRef::Cik(_) => submissions.tickers.first().cloned(),
        };
        let facts = FilingFacts {
            cik: &cik,
            company_name: &submissions.name,
            ticker,
            form: spec.form,
            fiscal_year: year,
            fiscal_quarter: filing_fiscal_quarter(
                &entry,
                submissions.fiscal_year_end.unwrap_or(FiscalYearEnd::DECEMBER_31),
            ),
        };
        self.store(&facts, &entry, bytes.to_vec()).await
    }

    /// A tier served from the demo set only: the stored filing the API matched the task
    /// to, never EDGAR. A task without one (accepted before the set held it) fails.
    async fn cached(&self, request: &FilingRequested) -> Result<Result<StoredFiling, Refusal>, FetchError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT f.id, f.accession FROM tasks t JOIN filings f ON f.id = t.filing_id WHERE t.id = $1",
                &[&request.task_id],
            )
            .await?;
        let found = row.and_then(|r| {
            let accession: String = r.get(1);
            AccessionNumber::parse(&accession).ok().map(|accession| StoredFiling {
                id: r.get(0),
                accession,
            })
        });
        Ok(found.ok_or_else(|| {
            Refusal(
                request
                    .tier
                    .policy()
                    .outside_cached_set(&request.spec.key(), self.clock.today()),
            )
        }))
    }

    /// Ticker -> CIK from the cached directory, refreshing it from EDGAR when stale
    /// or when the ticker is unknown and the cache is older than an hour.
    pub(crate) async fn resolve_ticker(&self, ticker: &Ticker) -> Result<Option<Cik>, FetchError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT (SELECT cik FROM edgar_companies WHERE ticker = $1),
                        extract(epoch FROM now() - (SELECT max(refreshed_at) FROM edgar_companies))::float8",
                &[&ticker.as_str()],
            )
            .await?;
        let (cached, age_secs): (Option<String>, Option<f64>) = (row.get(0), row.get(1));
        let stale = age_secs.is_none_or(|a| a > self.config.directory_max_age.as_secs_f64());
        let worth_a_look = cached.is_none() && age_secs.is_none_or(|a| a > 3600.0);
        if let (Some(cik), false) = (&cached, stale) {
            return Ok(Cik::parse(cik).ok());
        }
        if stale || worth_a_look {
            let directory = self.edgar.company_tickers().await?;
            let (mut tickers, mut ciks, mut titles) = (Vec::new(), Vec::new(), Vec::new());
            for company in &directory {
                tickers.push(company.ticker.to_string());
                ciks.push(company.cik.to_string());
                titles.push(company.title.clone());
            }
            client
                .execute(
                    "INSERT INTO edgar_companies (ticker, cik, title, refreshed_at)
                     SELECT DISTINCT ON (t) t, c, n, now() FROM unnest($1::text[], $2::text[], $3::text[]) AS d(t, c, n)
                     ON CONFLICT (ticker) DO UPDATE SET cik = EXCLUDED.cik, title = EXCLUDED.title,
                         refreshed_at = EXCLUDED.refreshed_at",
                    &[&tickers, &ciks, &titles],
                )
                .await?;
            tracing::info!(companies = directory.len(), "EDGAR ticker directory refreshed");
            let found = directory
                .iter()
                .find(|c| c.ticker.as_str() == ticker.as_str())
                .map(|c| c.cik.clone());
            return Ok(found);
        }
        Ok(cached.and_then(|c| Cik::parse(&c).ok()))
    }

    pub(crate) async fn stored(&self, accession: &AccessionNumber) -> Result<Option<StoredFiling>, FetchError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt("SELECT id FROM filings WHERE accession = $1", &[&accession.as_str()])
            .await?
            .map(|r| StoredFiling {
                id: r.get(0),
                accession: accession.clone(),
            }))
    }

    /// Raw bytes and sections to S3, then the row. Two fetchers racing on one filing
    /// write the same objects and one row (the accession is unique).
    pub(crate) async fn store(
        &self,
        facts: &FilingFacts<'_>,
        entry: &FilingEntry,
        bytes: Vec<u8>,
    ) -> Result<Result<StoredFiling, Refusal>, FetchError> {
        let (cik, form) = (facts.cik, facts.form);
        let prefix = format!("filings/{}/{}", cik, entry.accession);
        let document_key = format!("{prefix}/{}", entry.primary_document);
        let sections_key = format!("{prefix}/sections.json");
        let sha256 = hex_digest(&bytes);
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let (raw, sections) = tokio::task::spawn_blocking(move || {
            let text = sluice_filing_sections::decode_document(&bytes);
            let sections = sluice_filing_sections::extract(&text, form);
            (bytes, sections)
        })
        .await
        .map_err(|e| FetchError::Extraction(e.to_string()))?;
        let sections: FilingSections = match sections {
            Ok(s) => s,
            Err(e) => return Ok(Err(Refusal(format!("the filing's document could not be read: {e}")))),
        };
        let sections_json = serde_json::to_vec(&sections).map_err(|e| FetchError::Extraction(e.to_string()))?;
        let status: serde_json::Map<String, serde_json::Value> = sections
            .0
            .iter()
            .map(|(item, s)| (item.clone(), serde_json::json!(s.status)))
            .collect();
        self.put(&document_key, raw, content_type(&entry.primary_document), &sha256)
            .await?;
        self.put(&sections_key, sections_json, "application/json", "").await?;
        // Searchable before the row exists: a failure here is retried with the whole
        // store, and a redelivery finds this version indexed (idempotent per sha256).
        self.index_sections(facts, entry, &document_key, &sha256, &sections)
            .await?;
        let id = Uuid::new_v4();
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "WITH inserted AS (
                     INSERT INTO filings (id, accession, cik, company_name, ticker, form, filing_date, report_date,
                         fiscal_year, primary_document, bucket, document_key, sha256, size_bytes, sections_key,
                         section_status, fiscal_quarter)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                     ON CONFLICT (accession) DO NOTHING RETURNING id)
                 SELECT id FROM inserted UNION ALL SELECT id FROM filings WHERE accession = $2 LIMIT 1",
                &[
                    &id,
                    &entry.accession.as_str(),
                    &cik.as_str(),
                    &facts.company_name,
                    &facts.ticker,
                    &entry.form,
                    &entry.filing_date,
                    &entry.report_date,
                    &facts.fiscal_year,
                    &entry.primary_document,
                    &self.config.document_bucket,
                    &document_key,
                    &sha256,
                    &size,
                    &sections_key,
                    &serde_json::Value::Object(status),
                    &facts.fiscal_quarter.map(i16::from),
                ],
            )
            .await?;
        tracing::info!(accession = %entry.accession, bytes = size, "filing stored with its sections");
        Ok(Ok(StoredFiling {
            id: row.get(0),
            accession: entry.accession.clone(),
        }))
    }

    /// The filing's items as Ask Sluice chunks (context: company, form, period, item).
    async fn index_sections(
        &self,
        facts: &FilingFacts<'_>,
        entry: &FilingEntry,
        document_key: &str,
        sha256: &str,
        sections: &FilingSections,
    ) -> Result<(), FetchError> {
        let period = match facts.fiscal_quarter {
            Some(q) => format!("FY{}-Q{q}", facts.fiscal_year),
            None => format!("FY{}", facts.fiscal_year),
        };
        let meta = sluice_knowledge::DocumentMeta {
            title: format!("{} {} {period}", facts.company_name, entry.form),
            company: Some(facts.company_name.to_owned()),
            ticker: facts.ticker.clone(),
            form: Some(entry.form.clone()),
            period: Some(period.clone()),
        };
        let chunks = sluice_knowledge::chunk::chunk_filing(&meta, sections);
        let prepared = if chunks.is_empty() {
            Err(sluice_knowledge::pdf::Refusal::NoText)
        } else {
            Ok(chunks)
        };
        let doc = sluice_knowledge::store::NewDocument {
            source: sluice_knowledge::store::Source::Filing,
            source_key: format!("filing/{}", entry.accession),
            title: meta.title.clone(),
            ticker: meta.ticker.clone(),
            form: meta.form.clone(),
            period: Some(period),
            s3_key: Some(document_key.to_owned()),
            sha256: sha256.to_owned(),
        };
        sluice_knowledge::index::store_prepared(&self.pool, self.knowledge.as_ref(), &doc, prepared)
            .await
            .map_err(|e| FetchError::Knowledge(e.to_string()))?;
        Ok(())
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str, sha256: &str) -> Result<(), FetchError> {
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.config.document_bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        if !sha256.is_empty() {
            put = put.metadata("sha256", sha256);
        }
        put.send()
            .await
            .map(|_| ())
            .map_err(|e| FetchError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))
    }

    /// The filing is ready: the task moves on and its analysis is queued, once.
    async fn queue_analysis(
        &self,
        delivery: &Delivery<FilingRequested>,
        filing: &StoredFiling,
    ) -> Result<(), FetchError> {
        let request = &delivery.payload;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if idempotency::claim(&tx, SERVICE, &delivery.message_id.to_string()).await? == Claim::Repeat {
            return Ok(());
        }
        if !lifecycle::start_analysing(&tx, request.task_id, filing.id).await? {
            // Failed or given up meanwhile: the claim stands, nothing is queued.
            tx.commit().await?;
            tracing::info!(task_id = %request.task_id, "task ended while its filing was fetched; nothing queued");
            return Ok(());
        }
        let next = Envelope::new(
            Producer::FilingFetcher,
            delivery.correlation_id.clone(),
            Payload::AnalysisRequested(AnalysisRequested {
                task_id: request.task_id,
                user_id: request.user_id.clone(),
                filing_id: filing.id,
                accession: filing.accession.clone(),
                kind: request.kind,
            }),
        )
        .with_derived_id(&request.task_id.to_string());
        EventPublisher::stage(
            &tx,
            &Destination::FifoQueue(self.config.analyses_lane(request.tier).to_owned()),
            &next,
        )
        .await
        .map_err(|e| FetchError::Storage(e.to_string()))?;
        tx.commit().await?;
        tracing::info!(
            task_id = %request.task_id,
            accession = %filing.accession,
            priority = request.tier.policy().priority_lane,
            "analysis queued"
        );
        Ok(())
    }

    /// The request can never succeed: the task fails with the reason, nothing is charged.
    async fn fail_task(&self, delivery: &Delivery<FilingRequested>, reason: &str) -> Result<(), FetchError> {
        let topic = &self.config.events_topic_arn;
        Ok(lifecycle::fail(&self.pool, SERVICE, delivery, Producer::FilingFetcher, topic, reason).await?)
    }
}

impl Function for FilingFetcher {
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        match trigger {
            Trigger::Sqs(batch) => Ok(Answer::Batch(Box::pin(self.handle_batch(batch)).await)),
            Trigger::Schedule(tick) if tick.detail["schedule"] == DEMO_PREFILL => {
                let done = self.prefill_tick().await.map_err(FunctionError::failed)?;
                Ok(Answer::Done(serde_json::to_value(done).map_err(FunctionError::failed)?))
            }
            Trigger::Schedule(tick) => Err(FunctionError::Unsupported(format!(
                "the schedule {} (filing-fetcher serves {DEMO_PREFILL})",
                tick.detail["schedule"]
            ))),
            other => Err(FunctionError::Unsupported(other.kind().into())),
        }
    }
}

/// The fiscal year a filing reports on: by the company's fiscal year end when EDGAR
/// gives one (Apple's year ending in September), else its report date's (or filing date's) year.
pub(crate) fn fiscal_year(entry: &FilingEntry, fye: Option<FiscalYearEnd>) -> i32 {
    match fye {
        Some(fye) => filing_fiscal_year(entry, fye),
        None => entry
            .report_date
            .map(|d: NaiveDate| d.year())
            .unwrap_or_else(|| entry.filing_date.year()),
    }
}

fn hex_digest(bytes: &[u8]) -> String {
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    sluice_messages::Sha256Digest::from_bytes(digest).to_string()
}

fn content_type(document: &str) -> &'static str {
    let lower = document.to_ascii_lowercase();
    if lower.ends_with(".htm") || lower.ends_with(".html") {
        "text/html"
    } else if lower.ends_with(".txt") {
        "text/plain"
    } else if lower.ends_with(".xml") {
        "application/xml"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("aapl-20240928.htm"), "text/html");
        assert_eq!(content_type("0001213900-25-032135.txt"), "text/plain");
        assert_eq!(content_type("x.pdf"), "application/octet-stream");
    }

    #[test]
    fn digests_are_lower_hex() {
        assert_eq!(
            hex_digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn paying_tiers_wait_in_the_priority_lane_when_there_is_one() {
        use sluice_messages::UserTier;
        let mut config = FetcherConfig {
            document_bucket: "b".into(),
            analyses_queue_url: "standard".into(),
            priority_analyses_queue_url: Some("priority".into()),
            events_topic_arn: "t".into(),
            directory_max_age: Duration::from_secs(1),
            filings_queue_url: None,
            prefill_companies_per_tick: 1,
            prefill_refresh_after: Duration::from_secs(1),
        };
        let lanes: Vec<&str> = [
            UserTier::Demo,
            UserTier::Basic,
            UserTier::Professional,
            UserTier::Enterprise,
        ]
        .into_iter()
        .map(|t| config.analyses_lane(t))
        .collect();
        assert_eq!(lanes, ["standard", "standard", "priority", "priority"]);
        config.priority_analyses_queue_url = None;
        assert_eq!(config.analyses_lane(UserTier::Enterprise), "standard");
    }
}
