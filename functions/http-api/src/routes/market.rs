//! Market data read back (any signed-in user): `GET /v1/quotes/{ticker}` (the cache
//! when fresh, else the latest stored daily bar), `GET /v1/prices/{ticker}` and the
//! technical indicators over the stored bars, `GET /v1/prices/{ticker}/indicators`.

use crate::caller::Caller;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};
use sluice_market::indicators::{self, RSI_PERIOD};
use sluice_messages::Ticker;
use sluice_web::{json, ApiError, QueryParams};
use std::sync::Arc;

/// `GET /v1/quotes/{ticker}`.
pub async fn quote(
    State(api): State<Arc<ApiState>>,
    _caller: Caller,
    Path(raw_ticker): Path<String>,
) -> Result<Response, ApiError> {
    let ticker = Ticker::parse(&raw_ticker)?;
    let quote = api
        .market
        .quote(&ticker)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no quote for {ticker}: the ticker has no cached quote or stored bar"
            ))
        })?;
    Ok(json(StatusCode::OK, &serde_json::to_value(quote)?))
}

/// `from` and `to` (ISO dates): `to` today and `from` `default_days` before it unless
/// given, in order, at most 20 years apart.
fn date_range(
    query: &QueryParams,
    today: chrono::NaiveDate,
    default_days: u64,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), ApiError> {
    let to = query.date("to")?.unwrap_or(today);
    let from = match query.date("from")? {
        Some(from) => from,
        None => to
            .checked_sub_days(chrono::Days::new(default_days))
            .ok_or_else(|| ApiError::invalid("to is too early"))?,
    };
    if from > to {
        return Err(ApiError::invalid("from must not be after to"));
    }
    if (to - from).num_days() > 366 * 20 {
        return Err(ApiError::invalid("ask for at most 20 years at a time"));
    }
    Ok((from, to))
}

/// `GET /v1/prices/{ticker}?from=&to=`: daily bars between two ISO dates (the last 30
/// days by default), at most 20 years at a time.
pub async fn prices(
    State(api): State<Arc<ApiState>>,
    _caller: Caller,
    Path(raw_ticker): Path<String>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["from", "to"])?;
    let ticker = Ticker::parse(&raw_ticker)?;
    let (from, to) = date_range(&query, api.clock.today(), 30)?;
    let bars = api.market.prices(&ticker, from, to).await.map_err(ApiError::internal)?;
    Ok(json(
        StatusCode::OK,
        &json!({ "ticker": ticker, "from": from, "to": to, "items": bars }),
    ))
}

/// The indicators' moving-average window when none is asked for, and the bounds of one.
const DEFAULT_WINDOW: usize = 20;
const WINDOWS: std::ops::RangeInclusive<usize> = 2..=250;

/// A figure as the answer gives it: six decimals, null where there is none.
fn figure(v: Option<f64>) -> Value {
    v.filter(|v| v.is_finite())
        .map(|v| json!((v * 1e6).round() / 1e6))
        .unwrap_or(Value::Null)
}

/// `GET /v1/prices/{ticker}/indicators?window=&from=&to=`: per stored trading day between
/// two dates (the last year by default), the close, its daily return, the SMA and EMA of
/// `window` days and RSI(14); and over the range, the total return and the annualised
/// volatility. Within the tier's coverage, as fundamentals are. The formulas are in the
/// README and [`sluice_market::indicators`].
pub async fn indicators(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_ticker): Path<String>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["window", "from", "to"])?;
    let ticker = Ticker::parse(&raw_ticker)?;
    let expected = "a number of trading days from 2 to 250";
    let window = query.parsed::<usize>("window", expected)?.unwrap_or(DEFAULT_WINDOW);
    if !WINDOWS.contains(&window) {
        return Err(ApiError::invalid(format!("window must be {expected}")));
    }
    let (from, to) = date_range(&query, api.clock.today(), 365)?;
    let earliest = {
        let client = api.pool.get().await?;
        super::fundamentals::coverage(&client, &caller, &ticker, api.clock.today()).await?
    };
    if let Some(earliest) = earliest.filter(|e| to < *e) {
        return Err(ApiError::Forbidden(format!(
            "your tier covers prices from {earliest} on"
        )));
    }
    let from = earliest.map_or(from, |e| from.max(e));
    // Enough earlier bars for every indicator to have a value on `from`, and for the EMA
    // and RSI to have forgotten most of their seed.
    let lookback = i64::try_from(window.max(RSI_PERIOD + 1) * 3).unwrap_or(i64::MAX);
    let bars = api
        .market
        .prices_after(&ticker, from, to, lookback, earliest)
        .await
        .map_err(ApiError::internal)?;
    let start = bars
        .iter()
        .position(|b| b.date >= from)
        .ok_or_else(|| ApiError::not_found(format!("no daily bars of {ticker} from {from} to {to}")))?;
    // Adjusted closes when every bar has one (splits and dividends do not look like
    // returns); else the closes as traded.
    let adjusted = bars.iter().all(|b| b.adj_close.is_some());
    let closes: Vec<f64> = bars
        .iter()
        .map(|b| {
            if adjusted {
                b.adj_close.unwrap_or(b.close)
            } else {
                b.close
            }
        })
        .collect();
    let daily = indicators::returns(&closes);
    let sma = indicators::sma(&closes, window);
    let ema = indicators::ema(&closes, window);
    let rsi = indicators::rsi(&closes, RSI_PERIOD);
    let items: Vec<Value> = (start..bars.len())
        .map(|i| {
            json!({
                "date": bars[i].date,
                "close": figure(Some(closes[i])),
                "return": figure(daily[i]),
                "sma": figure(sma[i]),
                "ema": figure(ema[i]),
                "rsi": figure(rsi[i]),
            })
        })
        .collect();
    // Over the range: returns from one close in it to the next.
    let in_range: Vec<f64> = daily[start + 1..].iter().flatten().copied().collect();
    let last = bars.len() - 1;
    Ok(json(
        StatusCode::OK,
        &json!({
            "ticker": ticker,
            "from": from,
            "to": to,
            "window": window,
            "rsi_period": RSI_PERIOD,
            "basis": if adjusted { "adj_close" } else { "close" },
            "summary": {
                "first_date": bars[start].date,
                "last_date": bars[last].date,
                "trading_days": bars.len() - start,
                "return": figure(indicators::total_return(closes[start], closes[last])),
                "annualised_volatility": figure(indicators::annualised_volatility(&in_range)),
                "sma": figure(sma[last]),
                "ema": figure(ema[last]),
                "rsi": figure(rsi[last]),
            },
            "items": items,
        }),
    ))
}
