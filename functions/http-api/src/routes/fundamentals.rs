//! Financial statements and the ratios computed from them (any signed-in user, within
//! the tier's coverage): `GET /v1/fundamentals/{ticker}` and `GET /v1/ratios/{ticker}`.
//! A tier covers what it covers for filings too: demo the S&P 500 only, and each tier
//! the periods of its `history_years`.

use super::listing::{self, Format, Listing, Param};
use crate::caller::Caller;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::NaiveDate;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use sluice_core::auth::Principal;
use sluice_market::ratios::{Ratios, Statements};
use sluice_messages::Ticker;
use sluice_web::{json, ApiError, QueryParams};
use std::sync::Arc;

pub const STATEMENTS: [&str; 3] = ["income", "balance", "cash_flow"];
pub const PERIODS: [&str; 2] = ["annual", "quarter"];

pub const FUNDAMENTAL_COLUMNS: &[&str] = &["ticker", "statement", "period", "fiscal_date", "figures", "updated_at"];

/// The first day of the periods the caller's tier covers (`None`: all of them), after
/// checking the tier may read the ticker at all.
pub(crate) async fn coverage(
    client: &deadpool_postgres::Client,
    caller: &Principal,
    ticker: &Ticker,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, ApiError> {
    let policy = caller.tier.policy();
    let row = client
        .query_opt(
            "SELECT 'SP500' = ANY(index_membership) FROM tickers WHERE ticker = $1",
            &[&ticker.as_str()],
        )
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no market data for {ticker}: it is not a ticker Sluice follows"
            ))
        })?;
    if policy.sp500_only && !row.get::<_, bool>(0) {
        return Err(ApiError::Forbidden(format!(
            "your tier covers S&P 500 companies only, and {ticker} is not one"
        )));
    }
    Ok(policy
        .earliest_fiscal_year(today)
        .and_then(|year| NaiveDate::from_ymd_opt(year, 1, 1)))
}

/// `GET /v1/fundamentals/{ticker}?statement=&period=&from=&to=&limit=&cursor=`: newest
/// period first; the vendor's figures as they came.
pub async fn fundamentals(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_ticker): Path<String>,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["statement", "period", "from", "to", "limit", "cursor"])?;
    let ticker = Ticker::parse(&raw_ticker)?;
    let statement = listing::one_of("statement", query.first("statement"), &STATEMENTS)?;
    let period = listing::one_of("period", query.first("period"), &PERIODS)?;
    let limit = listing::limit(&query)?;
    let (from, to) = (query.date("from")?, query.date("to")?);
    let after = listing::cursor(&query, |k| {
        let date = NaiveDate::parse_from_str(k.first()?.as_str()?, "%Y-%m-%d").ok()?;
        let statement = listing::one_of("statement", k.get(1)?.as_str(), &STATEMENTS).ok()??;
        let period = listing::one_of("period", k.get(2)?.as_str(), &PERIODS).ok()??;
        Some((date, statement, period))
    })?;
    let earliest = {
        let client = api.pool.get().await?;
        coverage(&client, &caller, &ticker, api.clock.today()).await?
    };
    let from = match (from, earliest) {
        (Some(f), Some(e)) => Some(f.max(e)),
        (f, e) => f.or(e),
    };
    let params: Vec<Param> = vec![
        Box::new(ticker.as_str().to_owned()),
        Box::new(statement),
        Box::new(period),
        Box::new(from),
        Box::new(to),
        Box::new(after.map(|a| a.0)),
        Box::new(after.map(|a| a.1)),
        Box::new(after.map(|a| a.2)),
    ];
    Listing::jsonb(
        "SELECT jsonb_build_object('ticker', ticker, 'statement', statement, 'period', period_type,
                'fiscal_date', fiscal_date, 'figures', figures, 'updated_at', updated_at),
            jsonb_build_array(fiscal_date, statement, period_type)
         FROM fundamentals
         WHERE ticker = $1 AND ($2::text IS NULL OR statement = $2) AND ($3::text IS NULL OR period_type = $3)
           AND ($4::date IS NULL OR fiscal_date >= $4) AND ($5::date IS NULL OR fiscal_date <= $5)
           AND ($6::date IS NULL OR fiscal_date < $6
                OR (fiscal_date = $6 AND (statement, period_type) > ($7::text, $8::text)))
         ORDER BY fiscal_date DESC, statement, period_type LIMIT $9"
            .to_owned(),
        params,
        FUNDAMENTAL_COLUMNS,
        "fundamentals.csv",
    )
    .respond(&api, Format::of(&headers), limit)
    .await
}

/// `GET /v1/ratios/{ticker}?period=annual|quarter`: ratios of the latest period the tier
/// covers (annual by default; quarters are summed over the trailing twelve months), at
/// the latest price.
pub async fn ratios(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_ticker): Path<String>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["period"])?;
    let ticker = Ticker::parse(&raw_ticker)?;
    let period = listing::one_of("period", query.first("period"), &PERIODS)?.unwrap_or("annual");
    let flows: i64 = if period == "quarter" { 4 } else { 1 };
    let client = api.pool.get().await?;
    let earliest = coverage(&client, &caller, &ticker, api.clock.today()).await?;
    let rows = client
        .query(
            "SELECT statement, fiscal_date, figures FROM (
                 SELECT statement, fiscal_date, figures,
                        row_number() OVER (PARTITION BY statement ORDER BY fiscal_date DESC) AS n
                 FROM fundamentals
                 WHERE ticker = $1 AND period_type = $2 AND ($3::date IS NULL OR fiscal_date >= $3)) latest
             WHERE n <= $4 ORDER BY statement, fiscal_date DESC",
            &[&ticker.as_str(), &period, &earliest, &flows],
        )
        .await?;
    drop(client);
    let mut statements = Statements::default();
    let mut as_of: Option<NaiveDate> = None;
    let mut periods: Vec<Value> = Vec::new();
    for row in &rows {
        let statement: String = row.get(0);
        let date: NaiveDate = row.get(1);
        let Value::Object(figures) = row.get::<_, Value>(2) else {
            continue;
        };
        periods.push(json!({ "statement": statement, "fiscal_date": date }));
        match statement.as_str() {
            "income" => {
                as_of = as_of.max(Some(date));
                statements.income.push(figures);
            }
            "cash_flow" => statements.cash_flow.push(figures),
            _ if statements.balance.is_none() => statements.balance = Some(figures),
            _ => {}
        }
    }
    if statements.income.is_empty() && statements.balance.is_none() {
        return Err(ApiError::not_found(format!(
            "no {period} statements of {ticker} that your tier covers"
        )));
    }
    if (statements.income.len() as i64) < flows {
        // Fewer than four quarters: no trailing-twelve-month flows.
        statements.income.clear();
        statements.cash_flow.clear();
    }
    if (statements.cash_flow.len() as i64) < flows {
        statements.cash_flow.clear();
    }
    let quote = api.market.quote(&ticker).await.map_err(ApiError::internal)?;
    let price = quote.as_ref().map(|q| q.quote.price);
    let ratios = Ratios::compute(&statements, price);
    Ok(json(
        StatusCode::OK,
        &json!({
            "ticker": ticker,
            "period": period,
            "basis": if period == "quarter" { "trailing twelve months" } else { "latest fiscal year" },
            "fiscal_date": as_of,
            "price": price,
            "price_source": quote.as_ref().map(|q| q.source),
            "price_date": quote.as_ref().and_then(|q| q.trading_date),
            "ratios": ratios,
            "statements": periods,
        }),
    ))
}
