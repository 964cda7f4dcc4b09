//! The market-data vendor behind a narrow port, and its Financial Modeling Prep
//! implementation (`/stable/` API over HTTPS).
//!
//! The port returns the vendor's rows as JSON values; [`crate::validate`] decides
//! what is usable. Every HTTP request, retries included, first takes a permit from
//! the shared [`RateLimiter`]. 429 waits for `Retry-After` (or backs off), 5xx and
//! timeouts back off exponentially with jitter, up to a bounded number of attempts.
//! The API key travels in the `apikey` header only, never in a URL or a log line.

use crate::config::ApiKey;
use crate::ratelimit::{now_ms, LimitError, Permit, RateLimiter};
use chrono::NaiveDate;
use futures::future::BoxFuture;
use serde_json::Value;
use sluice_core::retry::{parse_retry_after, Backoff};
use sluice_messages::Ticker;
use std::sync::Arc;
use std::time::Duration;

/// A financial statement the vendor serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statement {
    Income,
    Balance,
    CashFlow,
}

impl Statement {
    pub const ALL: [Statement; 3] = [Self::Income, Self::Balance, Self::CashFlow];

    /// As stored in `fundamentals.statement`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Income => "income",
            Self::Balance => "balance",
            Self::CashFlow => "cash_flow",
        }
    }

    pub fn fmp_endpoint(&self) -> &'static str {
        match self {
            Self::Income => "income-statement",
            Self::Balance => "balance-sheet-statement",
            Self::CashFlow => "cash-flow-statement",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodType {
    Annual,
    Quarter,
}

impl PeriodType {
    pub const ALL: [PeriodType; 2] = [Self::Annual, Self::Quarter];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Annual => "annual",
            Self::Quarter => "quarter",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    #[error(transparent)]
    Limiter(#[from] LimitError),
    #[error("vendor kept answering 429 after {attempts} attempts")]
    Throttled { attempts: u32 },
    #[error("vendor unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("vendor refused the API key ({status})")]
    Unauthorized { status: u16 },
    #[error("vendor answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("vendor answer is not the expected JSON: {0}")]
    Malformed(String),
}

impl VendorError {
    /// Trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Limiter(_) | Self::Throttled { .. } | Self::Unavailable { .. }
        )
    }
}

/// One statement and period, and the vendor's rows for it.
pub type StatementRows = (Statement, PeriodType, Vec<Value>);

/// What Sluice needs from a market-data vendor.
pub trait MarketDataVendor: Send + Sync {
    /// Latest quotes of several symbols, one row per symbol the vendor knows.
    fn batch_quotes<'a>(&'a self, tickers: &'a [Ticker]) -> BoxFuture<'a, Result<Vec<Value>, VendorError>>;
    /// End-of-day bars between `from` and `to` (inclusive), any order.
    fn daily_bars<'a>(
        &'a self,
        ticker: &'a Ticker,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BoxFuture<'a, Result<Vec<Value>, VendorError>>;
    /// All three statements, annual and quarterly: `(statement, period, rows)`.
    /// Implementations may take the six permits at once and send the requests together.
    fn fundamentals<'a>(
        &'a self,
        ticker: &'a Ticker,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<StatementRows>, VendorError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for statement in Statement::ALL {
                for period in PeriodType::ALL {
                    out.push((
                        statement,
                        period,
                        self.statements(ticker, statement, period, limit).await?,
                    ));
                }
            }
            Ok(out)
        })
    }
    /// The latest `limit` periods of one statement.
    fn statements<'a>(
        &'a self,
        ticker: &'a Ticker,
        statement: Statement,
        period: PeriodType,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<Value>, VendorError>>;
}

/// The vendor's retries, and how long a limiter permit stays usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub backoff: Backoff,
    /// A permit not used within this long is stale and replaced (half the limiter's margin).
    pub permit_max_age: Duration,
}

/// The FMP `/stable/` client.
#[derive(Clone)]
pub struct FmpClient {
    http: reqwest::Client,
    base_url: String,
    api_key: ApiKey,
    limiter: Arc<dyn RateLimiter>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for FmpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FmpClient")
            .field("base_url", &self.base_url)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl FmpClient {
    pub fn new(
        base_url: &str,
        api_key: ApiKey,
        limiter: Arc<dyn RateLimiter>,
        timeout: Duration,
        policy: RetryPolicy,
    ) -> Result<Self, VendorError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent("sluice-price-updater")
            .build()
            .map_err(|e| VendorError::Malformed(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            limiter,
            policy,
        })
    }

    /// GET `/stable/<endpoint>?<query>`; the rows of the JSON array it answers.
    async fn get_rows(&self, endpoint: &str, query: &[(&str, String)]) -> Result<Vec<Value>, VendorError> {
        let permit = self.limiter.acquire().await?;
        self.get_rows_permitted(endpoint, query, permit).await
    }

    /// `permit` while it is fresh, else a new one.
    async fn fresh_permit(&self, mut permit: Option<Permit>) -> Result<(), VendorError> {
        loop {
            let p = match permit.take() {
                Some(p) => p,
                None => self.limiter.acquire().await?,
            };
            if p.is_fresh(now_ms(), self.policy.permit_max_age) {
                return Ok(());
            }
            tracing::debug!("rate-limit permit went stale before use; taking another");
        }
    }

    /// As [`Self::get_rows`] when the first attempt's permit is already taken; every retry takes its own.
    async fn get_rows_permitted(
        &self,
        endpoint: &str,
        query: &[(&str, String)],
        permit: Permit,
    ) -> Result<Vec<Value>, VendorError> {
        let url = format!("{}/stable/{endpoint}", self.base_url);
        let mut last = String::new();
        let mut throttled = false;
        for attempt in 1..=self.policy.backoff.max_attempts {
            self.fresh_permit((attempt == 1).then_some(permit)).await?;
            let sent = self
                .http
                .get(&url)
                .query(query)
                .header("apikey", self.api_key.expose())
                .header("accept", "application/json")
                .send()
                .await;
            let mut retry_after = None;
            match sent {
                Err(e) => {
                    throttled = false;
                    last = e.without_url().to_string();
                }
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        let body = response.bytes().await.map_err(|e| VendorError::Unavailable {
                            attempts: attempt,
                            last: e.without_url().to_string(),
                        })?;
                        return rows_of(&body);
                    }
                    let code = status.as_u16();
                    if code == 429 {
                        throttled = true;
                        retry_after =
                            parse_retry_after(response.headers().get("retry-after").and_then(|v| v.to_str().ok()));
                        last = "429 Too Many Requests".into();
                    } else if status.is_server_error() {
                        throttled = false;
                        last = format!("{status}");
                    } else if code == 401 || code == 403 {
                        return Err(VendorError::Unauthorized { status: code });
                    } else {
                        let body = response.text().await.unwrap_or_default();
                        return Err(VendorError::Refused {
                            status: code,
                            message: error_message(&body).unwrap_or_else(|| status.to_string()),
                        });
                    }
                }
            }
            if attempt < self.policy.backoff.max_attempts {
                let wait = self.policy.backoff.jittered_delay(attempt, retry_after);
                tracing::warn!(endpoint, attempt, wait_ms = wait.as_millis() as u64, reason = %last, "vendor request failed; retrying");
                tokio::time::sleep(wait).await;
            }
        }
        let attempts = self.policy.backoff.max_attempts;
        Err(if throttled {
            VendorError::Throttled { attempts }
        } else {
            VendorError::Unavailable { attempts, last }
        })
    }
}

fn error_message(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let m = v.get("Error Message").or_else(|| v.get("message"))?.as_str()?;
    Some(m.chars().take(200).collect())
}

/// FMP answers an array; an object with `Error Message` is a refusal with status 200.
pub fn rows_of(body: &[u8]) -> Result<Vec<Value>, VendorError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(rows)) => Ok(rows),
        Ok(other) => match other.get("Error Message").and_then(Value::as_str) {
            Some(m) => Err(VendorError::Refused {
                status: 200,
                message: m.chars().take(200).collect(),
            }),
            None => Err(VendorError::Malformed("expected a JSON array".into())),
        },
        Err(e) => Err(VendorError::Malformed(e.to_string())),
    }
}

impl MarketDataVendor for FmpClient {
    fn fundamentals<'a>(
        &'a self,
        ticker: &'a Ticker,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<StatementRows>, VendorError>> {
        Box::pin(async move {
            let wanted: Vec<(Statement, PeriodType)> = Statement::ALL
                .iter()
                .flat_map(|s| PeriodType::ALL.iter().map(move |p| (*s, *p)))
                .collect();
            // One trip to the bucket for the six permits; the six requests then go out together.
            let permit = self.limiter.acquire_many(wanted.len() as u32).await?;
            let answers = futures::future::try_join_all(wanted.iter().map(|(statement, period)| {
                let query = [
                    ("symbol", ticker.to_string()),
                    ("period", period.as_str().to_owned()),
                    ("limit", limit.to_string()),
                ];
                async move { self.get_rows_permitted(statement.fmp_endpoint(), &query, permit).await }
            }))
            .await?;
            Ok(wanted
                .into_iter()
                .zip(answers)
                .map(|((s, p), rows)| (s, p, rows))
                .collect())
        })
    }

    fn batch_quotes<'a>(&'a self, tickers: &'a [Ticker]) -> BoxFuture<'a, Result<Vec<Value>, VendorError>> {
        Box::pin(async move {
            if tickers.is_empty() {
                return Ok(Vec::new());
            }
            let symbols = tickers.iter().map(Ticker::as_str).collect::<Vec<_>>().join(",");
            self.get_rows("batch-quote", &[("symbols", symbols)]).await
        })
    }

    fn daily_bars<'a>(
        &'a self,
        ticker: &'a Ticker,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BoxFuture<'a, Result<Vec<Value>, VendorError>> {
        Box::pin(async move {
            self.get_rows(
                "historical-price-eod/full",
                &[
                    ("symbol", ticker.to_string()),
                    ("from", from.to_string()),
                    ("to", to.to_string()),
                ],
            )
            .await
        })
    }

    fn statements<'a>(
        &'a self,
        ticker: &'a Ticker,
        statement: Statement,
        period: PeriodType,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<Value>, VendorError>> {
        Box::pin(async move {
            self.get_rows(
                statement.fmp_endpoint(),
                &[
                    ("symbol", ticker.to_string()),
                    ("period", period.as_str().to_owned()),
                    ("limit", limit.to_string()),
                ],
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_are_not_rows() {
        assert_eq!(rows_of(b"[]").unwrap().len(), 0);
        assert!(matches!(
            rows_of(br#"{"Error Message":"Invalid API KEY."}"#),
            Err(VendorError::Refused { status: 200, .. })
        ));
        assert!(matches!(rows_of(b"<html>"), Err(VendorError::Malformed(_))));
    }
}
