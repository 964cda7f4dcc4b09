//! The function's settings, read once per instance through [`ConfigSource`].

use crate::backfill::BackfillYears;
use sluice_core::{ConfigError, ConfigSource};
use std::time::Duration;

/// The vendor API key: a secret (`FMP_API_KEY`, or `FMP_API_KEY_SECRET_ARN` in AWS, read
/// by the constructor); it travels only in the `apikey` request header.
pub use sluice_vendor_http::ApiKey;

#[derive(Debug, Clone)]
pub struct PriceConfig {
    /// `FMP_BASE_URL`, default `https://financialmodelingprep.com`.
    pub fmp_base_url: String,
    /// `PRICE_JOBS_QUEUE_URL`: the FIFO queue of one-ticker jobs.
    pub jobs_queue_url: String,
    /// `EVENTS_TOPIC_ARN`: progress and summary events.
    pub events_topic_arn: String,
    /// `RATE_LIMIT_TABLE`: the shared vendor rate-limit bucket (DynamoDB).
    pub rate_limit_table: String,
    /// `RATE_LIMIT_BUCKET`, default `fmp`: the bucket key, one per vendor account.
    pub rate_limit_bucket: String,
    /// `QUOTE_CACHE_TABLE`: latest quotes (DynamoDB, TTL).
    pub quote_cache_table: String,
    /// `VENDOR_RATE_LIMIT`, default 120 requests...
    pub vendor_rate_limit: u32,
    /// ...per `VENDOR_RATE_WINDOW_SECS`, default 60 (fractions allowed).
    pub vendor_rate_window: Duration,
    /// `VENDOR_RATE_MARGIN_MS`, default 250: added to the window, for clock skew
    /// between instances and for network jitter between a grant and its arrival.
    pub vendor_rate_margin: Duration,
    /// `QUOTE_CACHE_TTL_SECS`, default 300.
    pub quote_cache_ttl: Duration,
    /// `VENDOR_TIMEOUT_SECS`, default 15: one HTTP request.
    pub vendor_timeout: Duration,
    /// `VENDOR_MAX_ATTEMPTS`, default 5: tries of one request (429 and 5xx retried).
    pub vendor_max_attempts: u32,
    /// `VENDOR_BACKOFF_MS`, default 500: the first backoff; it doubles, with jitter.
    pub vendor_backoff: Duration,
    /// `VENDOR_MAX_BACKOFF_SECS`, default 30: no single wait (Retry-After included) is longer.
    pub vendor_max_backoff: Duration,
    /// `PRICE_JOB_MAX_ATTEMPTS`, default 3: deliveries of one job before its ticker
    /// is recorded as failed (keep it below the queue's maxReceiveCount).
    pub job_max_attempts: u32,
    /// `PRICE_HISTORY_DAYS`, default 10: how far back the daily refresh asks for
    /// bars of a ticker with none stored (and the most it catches up).
    pub history_days: u32,
    /// `STATEMENT_LIMIT`, default 5: periods asked for per statement.
    pub statement_limit: u32,
    /// `QUOTE_BATCH_SIZE`, default 100: symbols per batch-quote request.
    pub quote_batch_size: usize,
    /// `PROGRESS_EVERY`, default 50: a progress event every N tickers done.
    pub progress_every: u32,
    /// `PRICE_BACKFILL_YEARS`, default 5 (1 to 30): the history the `price-backfill`
    /// schedule loads when its event does not say.
    pub backfill_years: BackfillYears,
    /// `PRICE_BACKFILL_STEP_DAYS`, default 365 (7 to 3660): the calendar days one backfill
    /// job asks the vendor for (one request, about 250 bars a year): the bound on one
    /// invocation's work.
    pub backfill_step_days: u32,
}

fn positive_secs(cfg: &ConfigSource, key: &str, default: f64) -> Result<Duration, ConfigError> {
    let secs: f64 = cfg.or(key, default)?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(ConfigError::Invalid {
            key: key.into(),
            reason: "must be a positive number of seconds".into(),
        });
    }
    Ok(Duration::from_secs_f64(secs))
}

impl PriceConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        let limit: u32 = cfg.or("VENDOR_RATE_LIMIT", 120)?;
        if limit == 0 {
            return Err(ConfigError::Invalid {
                key: "VENDOR_RATE_LIMIT".into(),
                reason: "must be at least 1".into(),
            });
        }
        let base: String = cfg.or("FMP_BASE_URL", "https://financialmodelingprep.com".to_owned())?;
        let backfill_years =
            BackfillYears::new(cfg.or("PRICE_BACKFILL_YEARS", 5u32)?).ok_or_else(|| ConfigError::Invalid {
                key: "PRICE_BACKFILL_YEARS".into(),
                reason: format!("must be from 1 to {}", BackfillYears::MAX),
            })?;
        Ok(Self {
            fmp_base_url: base.trim_end_matches('/').to_owned(),
            jobs_queue_url: cfg.required("PRICE_JOBS_QUEUE_URL")?,
            events_topic_arn: cfg.required("EVENTS_TOPIC_ARN")?,
            rate_limit_table: cfg.required("RATE_LIMIT_TABLE")?,
            rate_limit_bucket: cfg.or("RATE_LIMIT_BUCKET", "fmp".to_owned())?,
            quote_cache_table: cfg.required("QUOTE_CACHE_TABLE")?,
            vendor_rate_limit: limit,
            vendor_rate_window: positive_secs(cfg, "VENDOR_RATE_WINDOW_SECS", 60.0)?,
            vendor_rate_margin: Duration::from_millis(cfg.or("VENDOR_RATE_MARGIN_MS", 250u64)?),
            quote_cache_ttl: positive_secs(cfg, "QUOTE_CACHE_TTL_SECS", 300.0)?,
            vendor_timeout: positive_secs(cfg, "VENDOR_TIMEOUT_SECS", 15.0)?,
            vendor_max_attempts: cfg.or("VENDOR_MAX_ATTEMPTS", 5u32)?.max(1),
            vendor_backoff: Duration::from_millis(cfg.or("VENDOR_BACKOFF_MS", 500u64)?),
            vendor_max_backoff: positive_secs(cfg, "VENDOR_MAX_BACKOFF_SECS", 30.0)?,
            job_max_attempts: cfg.or("PRICE_JOB_MAX_ATTEMPTS", 3u32)?.max(1),
            history_days: cfg.or("PRICE_HISTORY_DAYS", 10u32)?.max(1),
            statement_limit: cfg.or("STATEMENT_LIMIT", 5u32)?.clamp(1, 120),
            quote_batch_size: cfg.or("QUOTE_BATCH_SIZE", 100usize)?.clamp(1, 500),
            progress_every: cfg.or("PROGRESS_EVERY", 50u32)?.max(1),
            backfill_years,
            backfill_step_days: cfg.or("PRICE_BACKFILL_STEP_DAYS", 365u32)?.clamp(7, 3660),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConfigSource {
        ConfigSource::from_pairs([
            ("PRICE_JOBS_QUEUE_URL", "http://q/jobs.fifo"),
            ("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:t"),
            ("RATE_LIMIT_TABLE", "rl"),
            ("QUOTE_CACHE_TABLE", "qc"),
        ])
    }

    #[test]
    fn defaults() {
        let cfg = PriceConfig::load(&base()).unwrap();
        assert_eq!(cfg.fmp_base_url, "https://financialmodelingprep.com");
        assert_eq!(cfg.vendor_rate_limit, 120);
        assert_eq!(cfg.vendor_rate_window, Duration::from_secs(60));
        assert_eq!(cfg.quote_cache_ttl, Duration::from_secs(300));
        assert_eq!(cfg.backfill_years.get(), 5);
        assert_eq!(cfg.backfill_step_days, 365);
        assert!(PriceConfig::load(&base().with("PRICE_BACKFILL_YEARS", "0")).is_err());
    }
}
