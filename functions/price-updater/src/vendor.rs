//! The market-data vendor behind a narrow port, and its Financial Modeling Prep
//! implementation (`/stable/` API over HTTPS).
//!
//! The port returns the vendor's rows as JSON values; [`crate::validate`] decides
//! what is usable. Requests go through the shared
//! [`sluice_vendor_http::send_with_retry`], and every one, retries included, first takes
//! a permit from the shared [`RateLimiter`] (the pre-send hook). 429 and 503 wait for
//! `Retry-After` (or back off), other 5xx, 408 and timeouts back off exponentially with
//! jitter, up to a bounded number of attempts. The API key travels in the `apikey`
//! header only, never in a URL or a log line.

use crate::config::ApiKey;
use crate::ratelimit::{now_ms, LimitError, Permit, RateLimiter};
use chrono::NaiveDate;
use futures::future::BoxFuture;
use serde_json::Value;
use sluice_core::retry::Backoff;
use sluice_messages::Ticker;
use sluice_vendor_http::{send_with_retry, BaseUrl, SendError, Transient};
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
    /// The client or a request could not be set up (a bad base URL, say): permanent.
    #[error("vendor HTTP client: {0}")]
    Client(String),
}

impl VendorError {
    /// Trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Limiter(_) | Self::Throttled { .. } | Self::Unavailable { .. }
        )
    }

    /// The vendor's terms for how a request failed: 429 is throttling; 503, other 5xx,
    /// 408, timeouts and broken connections are unavailability; 401 and 403 a refused
    /// key; other 4xx a refusal with the vendor's message. The hook's error is the
    /// limiter's, already in these terms.
    fn from_send(error: SendError<VendorError>) -> Self {
        match error {
            SendError::Exhausted {
                attempts,
                last: Transient::Throttled { status: 429, .. },
            } => Self::Throttled { attempts },
            SendError::Exhausted { attempts, last } => Self::Unavailable {
                attempts,
                last: last.to_string(),
            },
            SendError::Refused {
                status: status @ (401 | 403),
                ..
            } => Self::Unauthorized { status },
            SendError::Refused { status, body } => Self::Refused {
                status,
                message: error_message(&body).unwrap_or_else(|| format!("HTTP {status}")),
            },
            SendError::TooLarge { limit } => Self::Malformed(format!("the answer is larger than {limit} bytes")),
            SendError::Request(reason) => Self::Client(reason),
            SendError::BeforeSend(error) => error,
        }
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
    base_url: BaseUrl,
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
            .map_err(|e| VendorError::Client(e.to_string()))?;
        let base_url = BaseUrl::parse(base_url).map_err(|e| VendorError::Client(format!("base URL: {e}")))?;
        Ok(Self {
            http,
            base_url,
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
        let url = self.base_url.join(&format!("stable/{endpoint}"));
        let permits = |attempt: u32| -> BoxFuture<'_, Result<(), VendorError>> {
            Box::pin(self.fresh_permit((attempt == 1).then_some(permit)))
        };
        let body = send_with_retry(
            || {
                self.http
                    .get(&url)
                    .query(query)
                    .header("apikey", self.api_key.expose())
                    .header("accept", "application/json")
            },
            self.policy.backoff,
            Some(&permits),
            None,
        )
        .await
        .map_err(VendorError::from_send)?;
        rows_of(&body)
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
