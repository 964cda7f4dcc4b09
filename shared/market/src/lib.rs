//! Market data as Sluice reads it back: the quote cache in DynamoDB and the daily bars
//! price-updater stores in PostgreSQL. price-updater writes both; the HTTP API (and the
//! chat's tools) read them here, so no function depends on another.
//!
//! The quote cache: one item per (`symbol`, `data_type`), with `expires_at` (epoch
//! seconds) as the table's TTL attribute. DynamoDB deletes expired items lazily, so a
//! read also treats an item past `expires_at` as absent.

pub mod indicators;
pub mod ratios;
pub mod universe;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use sluice_core::Clock;
use sluice_messages::Ticker;
use std::time::Duration;
use tracing::warn;

#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    #[error("quote cache: {0}")]
    Cache(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// One trading day of one ticker, as stored in `prices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyBar {
    pub ticker: Ticker,
    pub date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Split- and dividend-adjusted close, when the vendor gives it.
    pub adj_close: Option<f64>,
    pub volume: i64,
}

/// A quote as the cache keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub ticker: Ticker,
    pub price: f64,
    pub open: Option<f64>,
    pub day_high: Option<f64>,
    pub day_low: Option<f64>,
    pub previous_close: Option<f64>,
    pub change: Option<f64>,
    pub change_percent: Option<f64>,
    pub volume: Option<i64>,
    /// The vendor's time of the quote.
    pub as_of: Option<DateTime<Utc>>,
}

pub const QUOTE_DATA_TYPE: &str = "quote";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteSource {
    /// The vendor's live quote, from the cache.
    Cache,
    /// The latest stored daily bar.
    Database,
}

/// A quote as the HTTP API shows it: the quote (its `as_of` is when the vendor quoted
/// it, or when the bar was stored), and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteView {
    #[serde(flatten)]
    pub quote: Quote,
    /// The trading day of a stored bar.
    pub trading_date: Option<NaiveDate>,
    pub source: QuoteSource,
}

impl QuoteView {
    pub fn from_quote(q: &Quote) -> Self {
        Self {
            quote: q.clone(),
            trading_date: None,
            source: QuoteSource::Cache,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QuoteCache {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
    /// Judges expiry (and stamps new items); a test moves it instead of sleeping.
    clock: Clock,
}

fn dynamo_error<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> MarketError {
    MarketError::Cache(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

impl QuoteCache {
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str, ttl: Duration) -> Self {
        Self {
            client,
            table: table.to_owned(),
            ttl,
            clock: Clock::system(),
        }
    }

    /// The same cache read and written at the time `clock` gives.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    pub async fn put(&self, quote: &Quote) -> Result<(), MarketError> {
        let now = self.clock.now();
        let expires_at = now.timestamp_millis() + i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 4);
        let payload =
            serde_json::to_string(&QuoteView::from_quote(quote)).map_err(|e| MarketError::Cache(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("symbol", AttributeValue::S(quote.ticker.to_string()))
            .item("data_type", AttributeValue::S(QUOTE_DATA_TYPE.into()))
            .item("payload", AttributeValue::S(payload))
            .item("cached_at", AttributeValue::N(now.timestamp().to_string()))
            // TTL attribute: epoch seconds, rounded up so an item never lives shorter than its TTL.
            .item("expires_at", AttributeValue::N(((expires_at + 999) / 1000).to_string()))
            .item("expires_at_ms", AttributeValue::N(expires_at.to_string()))
            .send()
            .await
            .map_err(dynamo_error)?;
        Ok(())
    }

    /// The cached quote, unless absent or expired.
    pub async fn get(&self, ticker: &Ticker) -> Result<Option<QuoteView>, MarketError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("symbol", AttributeValue::S(ticker.to_string()))
            .key("data_type", AttributeValue::S(QUOTE_DATA_TYPE.into()))
            .send()
            .await
            .map_err(dynamo_error)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let expires_ms = match (item.get("expires_at_ms"), item.get("expires_at")) {
            (Some(AttributeValue::N(ms)), _) => ms.parse::<i64>().ok(),
            (_, Some(AttributeValue::N(s))) => s.parse::<i64>().ok().map(|s| s * 1000),
            _ => None,
        };
        if expires_ms.is_none_or(|e| e <= self.clock.now().timestamp_millis()) {
            return Ok(None);
        }
        let Some(AttributeValue::S(payload)) = item.get("payload") else {
            return Ok(None);
        };
        Ok(serde_json::from_str(payload).ok())
    }
}

/// Reads of quotes and daily bars: cache first, then PostgreSQL.
#[derive(Clone)]
pub struct MarketData {
    pub pool: Pool,
    pub cache: QuoteCache,
}

impl MarketData {
    /// The latest quote: the cache when it holds a fresh one, else the latest stored bar.
    pub async fn quote(&self, ticker: &Ticker) -> Result<Option<QuoteView>, MarketError> {
        match self.cache.get(ticker).await {
            Ok(Some(view)) => return Ok(Some(view)),
            Ok(None) => {}
            // A cache outage is not an outage of quotes.
            Err(e) => warn!(error = %e, "quote cache unavailable; reading PostgreSQL"),
        }
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT p.date, p.open::float8, p.high::float8, p.low::float8, p.close::float8, p.volume,
                        (SELECT q.close::float8 FROM prices q WHERE q.ticker = p.ticker AND q.date < p.date
                         ORDER BY q.date DESC LIMIT 1), p.updated_at
                 FROM prices p WHERE p.ticker = $1 ORDER BY p.date DESC LIMIT 1",
                &[&ticker.as_str()],
            )
            .await?;
        Ok(row.map(|r| {
            let close: f64 = r.get(4);
            let previous: Option<f64> = r.get(6);
            let change = previous.map(|p| close - p);
            QuoteView {
                quote: Quote {
                    ticker: ticker.clone(),
                    price: close,
                    open: Some(r.get(1)),
                    day_high: Some(r.get(2)),
                    day_low: Some(r.get(3)),
                    previous_close: previous,
                    change,
                    change_percent: previous
                        .zip(change)
                        .filter(|(p, _)| *p != 0.0)
                        .map(|(p, c)| c / p * 100.0),
                    volume: Some(r.get(5)),
                    as_of: r.get(7),
                },
                trading_date: Some(r.get(0)),
                source: QuoteSource::Database,
            }
        }))
    }

    /// Daily bars of `ticker` from `from` to `to` inclusive, oldest first.
    pub async fn prices(&self, ticker: &Ticker, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyBar>, MarketError> {
        self.prices_after(ticker, from, to, 0, None).await
    }

    /// Daily bars of `ticker` from `from` to `to` inclusive and, before them, up to
    /// `before` earlier bars (none before `not_before`), oldest first: the history an
    /// indicator needs to have a value on `from`.
    pub async fn prices_after(
        &self,
        ticker: &Ticker,
        from: NaiveDate,
        to: NaiveDate,
        before: i64,
        not_before: Option<NaiveDate>,
    ) -> Result<Vec<DailyBar>, MarketError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT date, open::float8, high::float8, low::float8, close::float8, adj_close::float8, volume
                 FROM prices WHERE ticker = $1 AND date BETWEEN $2 AND $3
                 UNION ALL
                 (SELECT date, open::float8, high::float8, low::float8, close::float8, adj_close::float8, volume
                  FROM prices WHERE ticker = $1 AND date < $2 AND ($5::date IS NULL OR date >= $5)
                  ORDER BY date DESC LIMIT $4)
                 ORDER BY date",
                &[&ticker.as_str(), &from, &to, &before, &not_before],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DailyBar {
                ticker: ticker.clone(),
                date: r.get(0),
                open: r.get(1),
                high: r.get(2),
                low: r.get(3),
                close: r.get(4),
                adj_close: r.get(5),
                volume: r.get(6),
            })
            .collect())
    }
}
