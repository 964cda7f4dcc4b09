//! price-updater: market data on a schedule, within the vendor's rate limit.
//!
//! - An EventBridge schedule (`daily-quotes` on weekdays after the US close,
//!   `weekly-fundamentals` on Saturdays) starts a refresh: one row in
//!   `price_refreshes`, one `price_refresh_items` row per tracked ticker, and one
//!   `PriceJobRequested` per ticker on the jobs FIFO queue, all in one transaction
//!   (outbox). The daily run also fills the quote cache from batch quotes.
//! - The same function consumes the jobs: it asks the vendor (every request under
//!   the shared DynamoDB limiter), validates the rows, upserts `prices` or
//!   `fundamentals`, and records the ticker's outcome in the same transaction as an
//!   idempotency claim. The job that finishes the last ticker stages the summary:
//!   it is published exactly once. Progress events go out every few tickers.
//! - A refresh resumes after any failure: unfinished jobs come back from the queue
//!   and skip tickers already done; a later tick of the same schedule re-queues the
//!   tickers still pending instead of starting over.
//! - A backfill (`price-backfill` schedule, Sundays, or the team invoking the function
//!   with `years` and `tickers`) loads years of daily bars per ticker through the same
//!   jobs queue and the same shared limiter: one bounded window per job (one vendor
//!   request), recorded with its bars in one transaction, each step queuing the next
//!   through the outbox. A killed job's redelivery redoes only its own step; a repeated
//!   step changes nothing; a later tick re-queues each unfinished ticker at its step.
//! - Reads for the HTTP API: [`PriceUpdater::quote`] (cache, then the latest bar)
//!   and [`PriceUpdater::prices`].

pub mod backfill;
pub mod bookkeeping;
pub mod config;
pub mod ratelimit;
/// The ticker universe lives with the market read model (the migrator loads it too).
pub use sluice_market::universe;
pub mod validate;
pub mod vendor;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use backfill::{step_window, BackfillRequest, BackfillRequestError};
use bookkeeping::{bars_window, progress_due, summarise_rejections, ItemStatus};
use chrono::NaiveDate;
use deadpool_postgres::{Pool, Transaction};
use serde::{Deserialize, Serialize};
use sluice_core::idempotency::{self, Claim};
use sluice_core::metrics::{MetricSet, Unit};
use sluice_core::{
    Answer, BatchProcessor, Clock, Delivery, Destination, EventPublisher, Function, FunctionError, InitError, Instance,
    PublishError, RecordError, Trigger,
};
use sluice_messages::{
    CorrelationId, Envelope, Payload, PriceJobRequested, PriceRefreshKind, PriceRefreshProgress, PriceRefreshSummary,
    Producer, Ticker, TickerReason,
};
use std::sync::Arc;
use tracing::{info, warn, Instrument};
use uuid::Uuid;

pub use config::{ApiKey, PriceConfig};
pub use ratelimit::{DynamoRateLimiter, RateLimiter, WindowLimit};
pub use sluice_market::{QuoteCache, QuoteSource, QuoteView};
pub use validate::{DailyBar, Quote, Rejection};
pub use vendor::{FmpClient, MarketDataVendor, PeriodType, RetryPolicy, Statement, VendorError};

pub const SERVICE: &str = "price-updater";

/// Which scheduled run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    DailyQuotes,
    WeeklyFundamentals,
    /// Years of daily bars (`detail.years`, `detail.tickers` when the team asks).
    PriceBackfill,
}

impl Schedule {
    pub fn kind(&self) -> PriceRefreshKind {
        match self {
            Self::DailyQuotes => PriceRefreshKind::DailyQuotes,
            Self::WeeklyFundamentals => PriceRefreshKind::WeeklyFundamentals,
            Self::PriceBackfill => PriceRefreshKind::Backfill,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::DailyQuotes => "daily-quotes",
            Self::WeeklyFundamentals => "weekly-fundamentals",
            Self::PriceBackfill => "price-backfill",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().to_ascii_lowercase().replace('_', "-");
        if raw.ends_with("daily-quotes") {
            Some(Self::DailyQuotes)
        } else if raw.ends_with("weekly-fundamentals") {
            Some(Self::WeeklyFundamentals)
        } else if raw.ends_with("price-backfill") {
            Some(Self::PriceBackfill)
        } else {
            None
        }
    }

    /// From `detail.schedule`, else the rule ARN in `resources[0]` (its name ends
    /// in `daily-quotes` or `weekly-fundamentals`).
    pub fn from_event(event: &EventBridgeEvent) -> Result<Self, PriceError> {
        if let Some(s) = event.detail.get("schedule").and_then(|v| v.as_str()) {
            return Self::parse(s).ok_or_else(|| PriceError::UnknownSchedule(s.chars().take(100).collect()));
        }
        let resource = event
            .resources
            .as_ref()
            .and_then(|r| r.first())
            .ok_or_else(|| PriceError::UnknownSchedule("the event names no rule".into()))?;
        let rule = resource.rsplit('/').next().unwrap_or(resource);
        Self::parse(rule).ok_or_else(|| PriceError::UnknownSchedule(rule.chars().take(100).collect()))
    }
}

/// What a scheduled tick did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshStarted {
    pub refresh_id: Uuid,
    pub kind: PriceRefreshKind,
    /// Tickers in the refresh.
    pub total: u32,
    /// Jobs queued by this tick (fewer than `total` when resuming).
    pub queued: u32,
    /// An unfinished refresh of this kind was resumed instead of starting a new one.
    pub resumed: bool,
    /// Quotes written to the cache (daily run).
    pub quotes_cached: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("not a price job: {0}")]
    BadMessage(String),
    #[error("unknown schedule `{0}` (expected daily-quotes, weekly-fundamentals or price-backfill)")]
    UnknownSchedule(String),
    #[error("backfill request refused: {0}")]
    BadRequest(#[from] BackfillRequestError),
    #[error("vendor: {0}")]
    Vendor(#[from] VendorError),
    #[error(transparent)]
    Market(#[from] sluice_market::MarketError),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl RecordError for PriceError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::BadMessage(_) | Self::UnknownSchedule(_) | Self::BadRequest(_) => false,
            Self::Database(e) => !sluice_core::db::is_permanent(e),
            _ => true,
        }
    }
}

/// What one job wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// The ticker's outcome was recorded (a backfill step: `Pending` while steps remain).
    Done {
        status: ItemStatus,
        changed: u32,
        rejected: u32,
    },
    /// A redelivery, or a job of a refresh already finished: nothing changed.
    AlreadyDone,
}

/// The function, built once per instance by [`PriceUpdater::build`].
#[derive(Clone)]
pub struct PriceUpdater {
    pub pool: Pool,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub vendor: Arc<dyn MarketDataVendor>,
    pub limiter: Arc<dyn RateLimiter>,
    pub publisher: EventPublisher,
    pub config: PriceConfig,
    /// The jobs queue's consumer (its DLQ: `DEAD_LETTER_QUEUE_URL`).
    pub processor: BatchProcessor,
    pub clock: Clock,
}

/// Vendor data of one job, validated.
enum Fetched {
    Bars {
        bars: Vec<DailyBar>,
        rejected: Vec<Rejection>,
    },
    Statements {
        rows: Vec<(Statement, PeriodType, validate::StatementRow)>,
        rejected: Vec<Rejection>,
    },
}

impl PriceUpdater {
    /// The one constructor (Lambda, the local runner, the tests): the vendor key
    /// (`FMP_API_KEY`, a secret), the shared DynamoDB limiter, and the FMP client
    /// taking its permits.
    pub async fn build(instance: &Instance) -> Result<Self, InitError> {
        let config = PriceConfig::load(&instance.cfg)?;
        let api_key = instance
            .secret("FMP_API_KEY")
            .await?
            .ok_or_else(|| InitError::unusable("FMP_API_KEY", "set FMP_API_KEY_SECRET_ARN (or FMP_API_KEY locally)"))?;
        let dynamodb = aws_sdk_dynamodb::Client::new(&instance.sdk);
        let limiter: Arc<dyn RateLimiter> = Arc::new(DynamoRateLimiter::new(
            dynamodb.clone(),
            &config.rate_limit_table,
            &config.rate_limit_bucket,
            WindowLimit::new(
                config.vendor_rate_limit,
                config.vendor_rate_window,
                config.vendor_rate_margin,
            ),
        ));
        let vendor = FmpClient::new(
            &config.fmp_base_url,
            api_key,
            limiter.clone(),
            config.vendor_timeout,
            RetryPolicy {
                backoff: sluice_core::retry::Backoff {
                    max_attempts: config.vendor_max_attempts,
                    base: config.vendor_backoff,
                    max: config.vendor_max_backoff,
                },
                permit_max_age: config.vendor_rate_margin / 2,
            },
        )
        .map_err(|e| InitError::unusable("FMP_BASE_URL", e))?;
        Ok(Self {
            pool: instance.pool.clone(),
            dynamodb,
            vendor: Arc::new(vendor),
            limiter,
            publisher: instance.publisher(),
            processor: instance
                .processor("DEAD_LETTER_QUEUE_URL")?
                .with_outbox(instance.outbox(Producer::PriceUpdater)),
            config,
            clock: instance.clock,
        })
    }

    fn cache(&self) -> QuoteCache {
        QuoteCache::new(
            self.dynamodb.clone(),
            &self.config.quote_cache_table,
            self.config.quote_cache_ttl,
        )
    }

    fn topic(&self) -> Destination {
        Destination::Topic(self.config.events_topic_arn.clone())
    }

    // ---------------------------------------------------------------- schedule

    /// A scheduled tick: starts (or resumes) the refresh and queues one job per ticker
    /// (a backfill: the configured years of every tracked ticker).
    pub async fn handle_schedule(&self, schedule: Schedule) -> Result<RefreshStarted, PriceError> {
        self.start_schedule(schedule, None).await
    }

    /// A backfill of `request` (the `price-backfill` event with `years` / `tickers`).
    /// While an earlier backfill is unfinished, that one is resumed instead.
    pub async fn handle_backfill(&self, request: BackfillRequest) -> Result<RefreshStarted, PriceError> {
        self.start_schedule(Schedule::PriceBackfill, Some(request)).await
    }

    async fn start_schedule(
        &self,
        schedule: Schedule,
        request: Option<BackfillRequest>,
    ) -> Result<RefreshStarted, PriceError> {
        let kind = schedule.kind();
        let span = tracing::info_span!("schedule", schedule = schedule.name());
        let backfill = (schedule == Schedule::PriceBackfill).then(|| {
            request.unwrap_or(BackfillRequest {
                years: self.config.backfill_years,
                tickers: None,
            })
        });
        async {
            let mut started = self.start_refresh(kind, backfill.as_ref()).await?;
            self.publisher.flush(&self.pool, Producer::PriceUpdater).await?;
            if schedule == Schedule::DailyQuotes {
                match self.cache_quotes().await {
                    Ok(n) => started.quotes_cached = n,
                    // The bars still come through the jobs; the API falls back to them.
                    Err(e) => warn!(error = %e, "batch quotes failed; the quote cache was not refreshed"),
                }
            }
            info!(refresh_id = %started.refresh_id, total = started.total, queued = started.queued,
                  resumed = started.resumed, quotes_cached = started.quotes_cached, "refresh started");
            Ok(started)
        }
        .instrument(span)
        .await
    }

    async fn start_refresh(
        &self,
        kind: PriceRefreshKind,
        backfill: Option<&BackfillRequest>,
    ) -> Result<RefreshStarted, PriceError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One tick at a time per kind decides whether to start or resume.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('price_refresh:' || $1))",
            &[&kind.as_str()],
        )
        .await?;
        let running = tx
            .query_opt(
                "UPDATE price_refreshes SET resume_round = resume_round + 1
                 WHERE kind = $1 AND completed_at IS NULL
                 RETURNING refresh_id, total, resume_round",
                &[&kind.as_str()],
            )
            .await?;
        let (refresh_id, total, round, resumed) = match (running, backfill) {
            (Some(row), _) => (row.get::<_, Uuid>(0), row.get::<_, i32>(1), row.get::<_, i32>(2), true),
            (None, Some(request)) => {
                let (refresh_id, total) = self.start_backfill(&tx, request).await?;
                (refresh_id, total, 0, false)
            }
            (None, None) => {
                let refresh_id = Uuid::new_v4();
                tx.execute(
                    "INSERT INTO price_refreshes (refresh_id, kind, total) VALUES ($1, $2, 0)",
                    &[&refresh_id, &kind.as_str()],
                )
                .await?;
                let total = tx
                    .execute(
                        "INSERT INTO price_refresh_items (refresh_id, ticker)
                         SELECT $1, ticker FROM tickers WHERE tracked ORDER BY ticker",
                        &[&refresh_id],
                    )
                    .await?;
                let total = i32::try_from(total).unwrap_or(i32::MAX);
                tx.execute(
                    "UPDATE price_refreshes SET total = $2 WHERE refresh_id = $1",
                    &[&refresh_id, &total],
                )
                .await?;
                (refresh_id, total, 0, false)
            }
        };
        let pending = tx
            .query(
                "SELECT ticker, steps_done FROM price_refresh_items
                 WHERE refresh_id = $1 AND status = 'pending' ORDER BY ticker",
                &[&refresh_id],
            )
            .await?;
        let correlation = correlation_of(refresh_id);
        let jobs = Destination::FifoQueue(self.config.jobs_queue_url.clone());
        let mut queued = 0u32;
        for row in &pending {
            let raw: &str = row.get(0);
            let ticker = Ticker::parse(raw).map_err(|e| PriceError::BadMessage(e.to_string()))?;
            // A backfill resumes each ticker at the step it had reached.
            let step = (kind == PriceRefreshKind::Backfill).then(|| u32::try_from(row.get::<_, i32>(1)).unwrap_or(0));
            let derived = match step {
                Some(step) => format!("{refresh_id}:{ticker}:{}:{step}:{round}", kind.as_str()),
                None => format!("{refresh_id}:{ticker}:{}:{round}", kind.as_str()),
            };
            let job = PriceJobRequested {
                refresh_id,
                kind,
                ticker: ticker.clone(),
                step,
            };
            let envelope = Envelope::new(
                Producer::PriceUpdater,
                correlation.clone(),
                Payload::PriceJobRequested(job),
            )
            .with_derived_id(&derived);
            EventPublisher::stage(&tx, &jobs, &envelope).await?;
            queued += 1;
        }
        if total == 0 {
            // Nothing to do: the (empty) summary goes out now.
            self.finish_refresh(&tx, refresh_id, kind).await?;
        }
        tx.commit().await?;
        Ok(RefreshStarted {
            refresh_id,
            kind,
            total: u32::try_from(total).unwrap_or(0),
            queued,
            resumed,
            quotes_cached: 0,
        })
    }

    /// A new backfill: its range (`years` back from today), and one item per ticker asked
    /// for that no completed backfill already covers from that day. Returns its id and total.
    async fn start_backfill(&self, tx: &Transaction<'_>, request: &BackfillRequest) -> Result<(Uuid, i32), PriceError> {
        let refresh_id = Uuid::new_v4();
        let today = self.clock.today();
        let first = request.years.first_day(today);
        tx.execute(
            "INSERT INTO price_refreshes (refresh_id, kind, total, from_date, to_date) VALUES ($1, 'backfill', 0, $2, $3)",
            &[&refresh_id, &first, &today],
        )
        .await?;
        let asked: Option<Vec<String>> = request
            .tickers
            .as_ref()
            .map(|t| t.iter().map(|t| t.as_str().to_owned()).collect());
        let total = tx
            .execute(
                "INSERT INTO price_refresh_items (refresh_id, ticker, next_from)
                 SELECT $1, t.ticker, $2 FROM tickers t
                 WHERE (($3::text[] IS NULL AND t.tracked) OR t.ticker = ANY($3::text[]))
                   AND NOT EXISTS (
                       SELECT 1 FROM price_refresh_items i JOIN price_refreshes r USING (refresh_id)
                       WHERE r.kind = 'backfill' AND i.ticker = t.ticker
                         AND i.status IN ('updated', 'unchanged') AND r.from_date <= $2)
                 ORDER BY t.ticker",
                &[&refresh_id, &first, &asked],
            )
            .await?;
        let total = i32::try_from(total).unwrap_or(i32::MAX);
        if let Some(asked) = &asked {
            if (total as usize) < asked.len() {
                info!(
                    asked = asked.len(),
                    total, "some tickers asked for are unknown or already have this much history"
                );
            }
        }
        tx.execute(
            "UPDATE price_refreshes SET total = $2 WHERE refresh_id = $1",
            &[&refresh_id, &total],
        )
        .await?;
        info!(%refresh_id, from = %first, to = %today, total, "backfill started");
        Ok((refresh_id, total))
    }

    /// Batch quotes of every tracked ticker into the quote cache. Returns how many were cached.
    pub async fn cache_quotes(&self) -> Result<u32, PriceError> {
        let tickers: Vec<Ticker> = {
            let client = self.pool.get().await?;
            client
                .query("SELECT ticker FROM tickers WHERE tracked ORDER BY ticker", &[])
                .await?
                .iter()
                .filter_map(|r| Ticker::parse(r.get::<_, &str>(0)).ok())
                .collect()
        };
        let cache = self.cache();
        let mut cached = 0;
        for chunk in tickers.chunks(self.config.quote_batch_size) {
            let rows = self.vendor.batch_quotes(chunk).await?;
            for row in &rows {
                match validate::validate_quote(row) {
                    Ok(quote) => {
                        cache.put(&quote).await?;
                        cached += 1;
                    }
                    Err(reason) => warn!(%reason, "vendor quote rejected; the cache keeps what it had"),
                }
            }
        }
        Ok(cached)
    }

    // ---------------------------------------------------------------- jobs

    /// The jobs queue consumer (partial batch failures).
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor
            .consume(event, |job: Delivery<PriceJobRequested>| async move {
                self.run_job(&job.payload, job.receive_count).await.map(|_| ())
            })
            .await
    }

    /// One ticker of a refresh. `delivery` is the how-many-th time this job is tried:
    /// at `PRICE_JOB_MAX_ATTEMPTS` a vendor failure is recorded instead of retried.
    pub async fn run_job(&self, job: &PriceJobRequested, delivery: u32) -> Result<JobOutcome, PriceError> {
        let span =
            tracing::info_span!("job", refresh_id = %job.refresh_id, ticker = %job.ticker, kind = job.kind.as_str());
        async {
            if job.kind == PriceRefreshKind::Backfill {
                return self.backfill_step(job, delivery).await;
            }
            let (status, last_stored) = {
                let client = self.pool.get().await?;
                let row = client
                    .query_opt(
                        "SELECT i.status, (SELECT max(date) FROM prices p WHERE p.ticker = i.ticker)
                         FROM price_refresh_items i WHERE i.refresh_id = $1 AND i.ticker = $2",
                        &[&job.refresh_id, &job.ticker.as_str()],
                    )
                    .await?;
                let Some(row) = row else {
                    return Err(PriceError::BadMessage(format!(
                        "{} is not part of refresh {}",
                        job.ticker, job.refresh_id
                    )));
                };
                (row.get::<_, String>(0), row.get::<_, Option<NaiveDate>>(1))
            };
            if status != ItemStatus::Pending.as_str() {
                info!(status, "ticker already done in this refresh; nothing to do");
                return Ok(JobOutcome::AlreadyDone);
            }
            let fetched = match self.fetch(job, last_stored).await {
                Ok(f) => Ok(f),
                Err(e) if e.is_transient() && delivery < self.config.job_max_attempts => {
                    return Err(PriceError::Vendor(e));
                }
                Err(e) => {
                    warn!(error = %e, delivery, "vendor failed for this ticker; recording it as failed");
                    Err(e.to_string())
                }
            };
            let outcome = self.record_job(job, fetched).await?;
            info!(outcome = ?outcome, "job finished");
            Ok(outcome)
        }
        .instrument(span)
        .await
    }

    async fn fetch(&self, job: &PriceJobRequested, last_stored: Option<NaiveDate>) -> Result<Fetched, VendorError> {
        match job.kind {
            PriceRefreshKind::DailyQuotes => {
                let (from, to) = bars_window(self.clock.today(), last_stored, self.config.history_days);
                let rows = self.vendor.daily_bars(&job.ticker, from, to).await?;
                let (bars, rejected) = validate::validate_bars(&job.ticker, &rows);
                Ok(Fetched::Bars { bars, rejected })
            }
            PriceRefreshKind::Backfill => Err(VendorError::Client("a backfill job is run step by step".into())),
            PriceRefreshKind::WeeklyFundamentals => {
                let answers = self
                    .vendor
                    .fundamentals(&job.ticker, self.config.statement_limit)
                    .await?;
                let mut rows = Vec::new();
                let mut rejected = Vec::new();
                for (statement, period, raw) in answers {
                    let (good, bad) = validate::validate_statements(&job.ticker, statement, &raw);
                    rows.extend(good.into_iter().map(|r| (statement, period, r)));
                    rejected.extend(bad.into_iter().map(|r| Rejection {
                        row: format!("{} {} {}", statement.as_str(), period.as_str(), r.row),
                        reason: r.reason,
                    }));
                }
                Ok(Fetched::Statements { rows, rejected })
            }
        }
    }

    /// Writes the job's rows and outcome, and the summary when it was the last, in one transaction.
    async fn record_job(
        &self,
        job: &PriceJobRequested,
        fetched: Result<Fetched, String>,
    ) -> Result<JobOutcome, PriceError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let key = format!("{}:{}:{}", job.refresh_id, job.ticker, job.kind.as_str());
        if idempotency::claim(&tx, SERVICE, &key).await? == Claim::Repeat {
            return Ok(JobOutcome::AlreadyDone);
        }
        let (status, changed, rejected, reason) = match fetched {
            Err(reason) => (ItemStatus::Failed, 0, 0, Some(reason)),
            Ok(Fetched::Bars { bars, rejected }) => {
                let changed = upsert_bars(&tx, &bars).await?;
                let status = ItemStatus::from_counts(changed, bars.len() as u32, rejected.len() as u32);
                (status, changed, rejected.len() as u32, rejection_reason(&rejected))
            }
            Ok(Fetched::Statements { rows, rejected }) => {
                let changed = upsert_statements(&tx, &job.ticker, &rows).await?;
                let status = ItemStatus::from_counts(changed, rows.len() as u32, rejected.len() as u32);
                (status, changed, rejected.len() as u32, rejection_reason(&rejected))
            }
        };
        let updated = tx
            .execute(
                "UPDATE price_refresh_items SET status = $3, reason = $4, rows_changed = $5, rows_rejected = $6,
                        finished_at = now()
                 WHERE refresh_id = $1 AND ticker = $2 AND status = 'pending'",
                &[
                    &job.refresh_id,
                    &job.ticker.as_str(),
                    &status.as_str(),
                    &reason,
                    &(changed as i32),
                    &(rejected as i32),
                ],
            )
            .await?;
        if updated == 0 {
            return Ok(JobOutcome::AlreadyDone);
        }
        self.ticker_done(&tx, job).await?;
        tx.commit().await?;
        emit_job_metrics(job.kind, changed, rejected, status == ItemStatus::Failed);
        Ok(JobOutcome::Done {
            status,
            changed,
            rejected,
        })
    }

    /// A ticker of the refresh is finished: counts it, and stages the summary when it was
    /// the last, or a progress event when one is due.
    async fn ticker_done(&self, tx: &Transaction<'_>, job: &PriceJobRequested) -> Result<(), PriceError> {
        let row = tx
            .query_one(
                "UPDATE price_refreshes SET done = done + 1 WHERE refresh_id = $1 RETURNING done, total",
                &[&job.refresh_id],
            )
            .await?;
        let (done, total) = (row.get::<_, i32>(0).max(0) as u32, row.get::<_, i32>(1).max(0) as u32);
        if done >= total {
            self.finish_refresh(tx, job.refresh_id, job.kind).await?;
        } else if progress_due(done, total, self.config.progress_every) {
            let progress = PriceRefreshProgress {
                refresh_id: job.refresh_id,
                kind: job.kind,
                done,
                total,
            };
            let envelope = Envelope::new(
                Producer::PriceUpdater,
                correlation_of(job.refresh_id),
                Payload::PriceRefreshProgress(progress),
            )
            .with_derived_id(&format!("{}:progress:{done}", job.refresh_id));
            EventPublisher::stage(tx, &self.topic(), &envelope).await?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- backfill

    /// One step of a ticker's backfill: the next window of bars from the vendor (one
    /// request under the shared limiter), then [`Self::record_backfill_step`].
    async fn backfill_step(&self, job: &PriceJobRequested, delivery: u32) -> Result<JobOutcome, PriceError> {
        let Some(step) = job.step else {
            return Err(PriceError::BadMessage("a backfill job without its step".into()));
        };
        let row = {
            let client = self.pool.get().await?;
            client
                .query_opt(
                    "SELECT i.status, i.steps_done, i.next_from, r.to_date
                     FROM price_refresh_items i JOIN price_refreshes r USING (refresh_id)
                     WHERE i.refresh_id = $1 AND i.ticker = $2",
                    &[&job.refresh_id, &job.ticker.as_str()],
                )
                .await?
        };
        let Some(row) = row else {
            return Err(PriceError::BadMessage(format!(
                "{} is not part of backfill {}",
                job.ticker, job.refresh_id
            )));
        };
        let status: String = row.get(0);
        let steps_done = u32::try_from(row.get::<_, i32>(1)).unwrap_or(0);
        if status != ItemStatus::Pending.as_str() || steps_done != step {
            info!(
                status,
                steps_done, step, "backfill step already recorded; nothing to do"
            );
            return Ok(JobOutcome::AlreadyDone);
        }
        let (Some(next_from), Some(last)) = (row.get::<_, Option<NaiveDate>>(2), row.get::<_, Option<NaiveDate>>(3))
        else {
            return Err(PriceError::BadMessage(format!(
                "backfill {} has no range for {}",
                job.refresh_id, job.ticker
            )));
        };
        let (from, to, next) = step_window(next_from, last, self.config.backfill_step_days);
        let fetched = match self.vendor.daily_bars(&job.ticker, from, to).await {
            Ok(rows) => Ok(validate::validate_bars(&job.ticker, &rows)),
            Err(e) if e.is_transient() && delivery < self.config.job_max_attempts => {
                return Err(PriceError::Vendor(e));
            }
            Err(e) => {
                warn!(error = %e, delivery, %from, %to, "vendor failed for this backfill step; recording the ticker as failed");
                Err(e.to_string())
            }
        };
        let outcome = self
            .record_backfill_step(
                job,
                step,
                fetched,
                next.unwrap_or_else(|| to.succ_opt().unwrap_or(to)),
                next.is_none(),
            )
            .await?;
        info!(%from, %to, outcome = ?outcome, "backfill step finished");
        Ok(outcome)
    }

    /// Writes one backfill step in one transaction: its bars, the item's new position
    /// (only if it is still at `step`), and then either the next step's job (outbox) or,
    /// after the last step, the ticker's outcome (and the summary when it was the last).
    async fn record_backfill_step(
        &self,
        job: &PriceJobRequested,
        step: u32,
        fetched: Result<(Vec<DailyBar>, Vec<Rejection>), String>,
        next_from: NaiveDate,
        last_step: bool,
    ) -> Result<JobOutcome, PriceError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let key = format!("{}:{}:{}:{step}", job.refresh_id, job.ticker, job.kind.as_str());
        if idempotency::claim(&tx, SERVICE, &key).await? == Claim::Repeat {
            return Ok(JobOutcome::AlreadyDone);
        }
        let step_i32 = i32::try_from(step).unwrap_or(i32::MAX);
        let (bars, rejected) = match fetched {
            Ok(f) => f,
            Err(reason) => {
                let failed = tx
                    .execute(
                        "UPDATE price_refresh_items SET status = 'failed', reason = $4, finished_at = now()
                         WHERE refresh_id = $1 AND ticker = $2 AND status = 'pending' AND steps_done = $3",
                        &[&job.refresh_id, &job.ticker.as_str(), &step_i32, &reason],
                    )
                    .await?;
                if failed == 0 {
                    return Ok(JobOutcome::AlreadyDone);
                }
                self.ticker_done(&tx, job).await?;
                tx.commit().await?;
                emit_job_metrics(job.kind, 0, 0, true);
                return Ok(JobOutcome::Done {
                    status: ItemStatus::Failed,
                    changed: 0,
                    rejected: 0,
                });
            }
        };
        let changed = upsert_bars(&tx, &bars).await?;
        let n_rejected = rejected.len() as u32;
        let row = tx
            .query_opt(
                "UPDATE price_refresh_items SET steps_done = steps_done + 1, next_from = $4,
                        rows_changed = coalesce(rows_changed, 0) + $5,
                        rows_accepted = coalesce(rows_accepted, 0) + $6,
                        rows_rejected = coalesce(rows_rejected, 0) + $7,
                        reason = coalesce($8, reason)
                 WHERE refresh_id = $1 AND ticker = $2 AND status = 'pending' AND steps_done = $3
                 RETURNING rows_changed, rows_accepted, rows_rejected",
                &[
                    &job.refresh_id,
                    &job.ticker.as_str(),
                    &step_i32,
                    &next_from,
                    &(changed as i32),
                    &(bars.len() as i32),
                    &(n_rejected as i32),
                    &rejection_reason(&rejected),
                ],
            )
            .await?;
        let Some(row) = row else {
            return Ok(JobOutcome::AlreadyDone);
        };
        let status = if last_step {
            let count = |i: usize| u32::try_from(row.get::<_, i32>(i)).unwrap_or(0);
            let status = ItemStatus::from_counts(count(0), count(1), count(2));
            tx.execute(
                "UPDATE price_refresh_items SET status = $3, finished_at = now() WHERE refresh_id = $1 AND ticker = $2",
                &[&job.refresh_id, &job.ticker.as_str(), &status.as_str()],
            )
            .await?;
            self.ticker_done(&tx, job).await?;
            status
        } else {
            let next = PriceJobRequested {
                step: Some(step + 1),
                ..job.clone()
            };
            let envelope = Envelope::new(
                Producer::PriceUpdater,
                correlation_of(job.refresh_id),
                Payload::PriceJobRequested(next),
            )
            .with_derived_id(&format!(
                "{}:{}:{}:{}",
                job.refresh_id,
                job.ticker,
                job.kind.as_str(),
                step + 1
            ));
            let jobs = Destination::FifoQueue(self.config.jobs_queue_url.clone());
            EventPublisher::stage(&tx, &jobs, &envelope).await?;
            ItemStatus::Pending
        };
        tx.commit().await?;
        emit_job_metrics(job.kind, changed, n_rejected, false);
        Ok(JobOutcome::Done {
            status,
            changed,
            rejected: n_rejected,
        })
    }

    /// Marks the refresh complete and stages its summary, once.
    async fn finish_refresh(
        &self,
        tx: &Transaction<'_>,
        refresh_id: Uuid,
        kind: PriceRefreshKind,
    ) -> Result<(), PriceError> {
        let finished = tx
            .execute(
                "UPDATE price_refreshes SET completed_at = now() WHERE refresh_id = $1 AND completed_at IS NULL",
                &[&refresh_id],
            )
            .await?;
        if finished == 0 {
            return Ok(());
        }
        let items = tx
            .query(
                "SELECT ticker, status, reason, rows_rejected FROM price_refresh_items WHERE refresh_id = $1 ORDER BY ticker",
                &[&refresh_id],
            )
            .await?;
        let mut summary = PriceRefreshSummary {
            refresh_id,
            kind,
            total: items.len() as u32,
            updated: 0,
            unchanged: 0,
            rejected: Vec::new(),
            failed: Vec::new(),
        };
        for row in &items {
            let Ok(ticker) = Ticker::parse(row.get::<_, &str>(0)) else {
                continue;
            };
            let reason: Option<String> = row.get(2);
            let rows_rejected: Option<i32> = row.get(3);
            match ItemStatus::parse(row.get(1)) {
                Some(ItemStatus::Updated) => summary.updated += 1,
                Some(ItemStatus::Unchanged) => summary.unchanged += 1,
                Some(ItemStatus::Failed) => summary.failed.push(TickerReason {
                    ticker: ticker.clone(),
                    reason: reason.clone().unwrap_or_default(),
                }),
                _ => {}
            }
            if rows_rejected.unwrap_or(0) > 0 {
                summary.rejected.push(TickerReason {
                    ticker,
                    reason: reason.unwrap_or_default(),
                });
            }
        }
        let envelope = Envelope::new(
            Producer::PriceUpdater,
            correlation_of(refresh_id),
            Payload::PriceRefreshSummary(summary),
        )
        .with_derived_id(&format!("{refresh_id}:summary"));
        EventPublisher::stage(tx, &self.topic(), &envelope).await?;
        Ok(())
    }
}

impl Function for PriceUpdater {
    /// EventBridge schedules start refreshes; the jobs queue runs them.
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        match trigger {
            Trigger::Schedule(tick) => {
                let schedule = Schedule::from_event(&tick).map_err(FunctionError::failed)?;
                let started = match schedule {
                    Schedule::PriceBackfill => {
                        let request = BackfillRequest::from_detail(&tick.detail, self.config.backfill_years)
                            .map_err(FunctionError::failed)?;
                        self.handle_backfill(request).await
                    }
                    other => self.handle_schedule(other).await,
                }
                .map_err(FunctionError::failed)?;
                Ok(Answer::Done(
                    serde_json::to_value(started).map_err(FunctionError::failed)?,
                ))
            }
            Trigger::Sqs(batch) => Ok(Answer::Batch(self.handle_batch(batch).await)),
            other => Err(FunctionError::Unsupported(other.kind().into())),
        }
    }
}

fn correlation_of(refresh_id: Uuid) -> CorrelationId {
    CorrelationId::parse(&format!("price-refresh-{refresh_id}")).unwrap_or_default()
}

/// One job's figures for CloudWatch (embedded metric format).
fn emit_job_metrics(kind: PriceRefreshKind, changed: u32, rejected: u32, failed: bool) {
    let mut m = MetricSet::new(SERVICE).dimension("Kind", kind.as_str());
    m.put("RowsChanged", Unit::Count, f64::from(changed))
        .put("RowsRejected", Unit::Count, f64::from(rejected))
        .put("TickersFailed", Unit::Count, f64::from(u8::from(failed)))
        .emit();
}

fn rejection_reason(rejected: &[Rejection]) -> Option<String> {
    if rejected.is_empty() {
        return None;
    }
    let reasons: Vec<String> = rejected.iter().map(|r| format!("{}: {}", r.row, r.reason)).collect();
    Some(summarise_rejections(&reasons, 5))
}

/// Upserts bars; returns how many were inserted or changed.
async fn upsert_bars(tx: &Transaction<'_>, bars: &[DailyBar]) -> Result<u32, PriceError> {
    let statement = tx
        .prepare(
            "INSERT INTO prices (ticker, date, open, high, low, close, adj_close, volume)
             VALUES ($1, $2, $3::float8::numeric, $4::float8::numeric, $5::float8::numeric, $6::float8::numeric,
                     $7::float8::numeric, $8)
             ON CONFLICT (ticker, date) DO UPDATE SET
                 open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
                 adj_close = COALESCE(EXCLUDED.adj_close, prices.adj_close), volume = EXCLUDED.volume,
                 updated_at = now()
             WHERE (prices.open, prices.high, prices.low, prices.close, prices.volume)
                   IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)
                OR (EXCLUDED.adj_close IS NOT NULL AND prices.adj_close IS DISTINCT FROM EXCLUDED.adj_close)",
        )
        .await?;
    let mut changed = 0;
    for b in bars {
        changed += tx
            .execute(
                &statement,
                &[
                    &b.ticker.as_str(),
                    &b.date,
                    &b.open,
                    &b.high,
                    &b.low,
                    &b.close,
                    &b.adj_close,
                    &b.volume,
                ],
            )
            .await? as u32;
    }
    Ok(changed)
}

async fn upsert_statements(
    tx: &Transaction<'_>,
    ticker: &Ticker,
    rows: &[(Statement, PeriodType, validate::StatementRow)],
) -> Result<u32, PriceError> {
    let statement = tx
        .prepare(
            "INSERT INTO fundamentals (ticker, statement, period_type, fiscal_date, figures)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (ticker, statement, period_type, fiscal_date) DO UPDATE SET
                 figures = EXCLUDED.figures, updated_at = now()
             WHERE fundamentals.figures IS DISTINCT FROM EXCLUDED.figures",
        )
        .await?;
    let mut changed = 0;
    for (kind, period, row) in rows {
        changed += tx
            .execute(
                &statement,
                &[
                    &ticker.as_str(),
                    &kind.as_str(),
                    &period.as_str(),
                    &row.fiscal_date,
                    &row.figures,
                ],
            )
            .await? as u32;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> EventBridgeEvent {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn schedules_from_rule_names_or_detail() {
        let by_rule = event(serde_json::json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-20T21:30:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/sluice-daily-quotes"], "detail": {}
        }));
        assert_eq!(Schedule::from_event(&by_rule).unwrap(), Schedule::DailyQuotes);
        let by_detail = event(serde_json::json!({
            "detail-type": "Scheduled Event", "source": "sluice.local", "detail": {"schedule": "weekly-fundamentals"}
        }));
        assert_eq!(Schedule::from_event(&by_detail).unwrap(), Schedule::WeeklyFundamentals);
        let scheduler = event(serde_json::json!({
            "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {},
            "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/prod-weekly-fundamentals"]
        }));
        assert_eq!(Schedule::from_event(&scheduler).unwrap(), Schedule::WeeklyFundamentals);
        let backfill = event(serde_json::json!({
            "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "detail": {"schedule": "price-backfill", "years": 10, "tickers": ["MSFT"]}
        }));
        assert_eq!(Schedule::from_event(&backfill).unwrap(), Schedule::PriceBackfill);
        assert_eq!(Schedule::PriceBackfill.kind(), PriceRefreshKind::Backfill);
        let unknown = event(serde_json::json!({
            "detail-type": "Scheduled Event", "source": "aws.events", "detail": {},
            "resources": ["arn:aws:events:us-east-1:1:rule/other"]
        }));
        assert!(matches!(Schedule::from_event(&unknown), Err(PriceError::UnknownSchedule(r)) if r == "other"));
    }

    #[test]
    fn the_real_scheduled_event_fixture_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/lambda_events/rust-runtime__example-eventbridge-schedule.json");
        let Ok(raw) = std::fs::read_to_string(&path) else {
            eprintln!("skipping: {} is not present", path.display());
            return;
        };
        let e: EventBridgeEvent = serde_json::from_str(&raw).unwrap();
        assert_eq!(e.detail_type, "Scheduled Event");
        // Its rule is not one of ours: refused by name.
        assert!(Schedule::from_event(&e).is_err());
    }
}
