//! The quote cache in DynamoDB: one item per (`symbol`, `data_type`), with
//! `expires_at` (epoch seconds) as the table's TTL attribute. DynamoDB deletes
//! expired items lazily, so a read also treats an item past `expires_at` as absent.

use crate::validate::Quote;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sluice_messages::Ticker;
use std::time::Duration;

pub const QUOTE_DATA_TYPE: &str = "quote";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteSource {
    /// The vendor's live quote, from the cache.
    Cache,
    /// The latest stored daily bar.
    Database,
}

/// A quote as the HTTP API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteView {
    pub ticker: Ticker,
    pub price: f64,
    pub open: Option<f64>,
    pub day_high: Option<f64>,
    pub day_low: Option<f64>,
    pub previous_close: Option<f64>,
    pub change: Option<f64>,
    pub change_percent: Option<f64>,
    pub volume: Option<i64>,
    /// The trading day of a stored bar.
    pub trading_date: Option<NaiveDate>,
    /// When the vendor quoted it (cache) or when the bar was stored (database).
    pub as_of: Option<DateTime<Utc>>,
    pub source: QuoteSource,
}

impl QuoteView {
    pub fn from_quote(q: &Quote) -> Self {
        Self {
            ticker: q.ticker.clone(),
            price: q.price,
            open: q.open,
            day_high: q.day_high,
            day_low: q.day_low,
            previous_close: q.previous_close,
            change: q.change,
            change_percent: q.change_percent,
            volume: q.volume,
            trading_date: None,
            as_of: q.as_of,
            source: QuoteSource::Cache,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QuoteCache {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
}

fn dynamo_error<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> crate::PriceError {
    crate::PriceError::Cache(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

impl QuoteCache {
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str, ttl: Duration) -> Self {
        Self {
            client,
            table: table.to_owned(),
            ttl,
        }
    }

    pub async fn put(&self, quote: &Quote) -> Result<(), crate::PriceError> {
        let now = Utc::now();
        let expires_at = now.timestamp_millis() + i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 4);
        let payload = serde_json::to_string(&QuoteView::from_quote(quote))
            .map_err(|e| crate::PriceError::Cache(e.to_string()))?;
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
    pub async fn get(&self, ticker: &Ticker) -> Result<Option<QuoteView>, crate::PriceError> {
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
        if expires_ms.is_none_or(|e| e <= Utc::now().timestamp_millis()) {
            return Ok(None);
        }
        let Some(AttributeValue::S(payload)) = item.get("payload") else {
            return Ok(None);
        };
        Ok(serde_json::from_str(payload).ok())
    }
}
