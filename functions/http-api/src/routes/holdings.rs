//! Each user's watchlists and portfolios (any signed-in user, their own only; another
//! user's is a 404): `/v1/watchlists` and `/v1/portfolios`, with `{id}` to read, replace
//! or delete one. A portfolio's positions have a quantity and a cost basis (what the
//! shares cost in all); it is valued at the latest quotes the quote read model has
//! ([`sluice_market::MarketData::quote`]: the cache, else the latest stored bar). Every
//! amount is an exact decimal: computed by PostgreSQL's `numeric` and given as a string.

use crate::caller::Caller;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_market::QuoteView;
use sluice_messages::Ticker;
use sluice_portfolio::rules::decimal;
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::sync::Arc;
use tokio_postgres::error::SqlState;

/// At most this many tickers in a watchlist, positions in a portfolio, and lists of each
/// kind per user.
pub const MAX_ITEMS: usize = 200;
pub const MAX_LISTS: i64 = 100;

fn refuse(field: impl std::fmt::Display, reason: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("{field}: {reason}"))
}

/// A list's name: 1 to 100 characters once trimmed.
fn name_of(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(refuse("name", "must be 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

/// Tickers as written (`tickers[i]`), each a ticker's shape and listed once.
fn tickers_of(raw: &[Value]) -> Result<Vec<Ticker>, ApiError> {
    if raw.len() > MAX_ITEMS {
        return Err(refuse("tickers", format!("at most {MAX_ITEMS}")));
    }
    let mut out: Vec<Ticker> = Vec::with_capacity(raw.len());
    for (i, value) in raw.iter().enumerate() {
        let field = format!("tickers[{i}]");
        let text = value
            .as_str()
            .ok_or_else(|| refuse(&field, "must be a ticker such as AAPL"))?;
        let ticker = Ticker::parse(text).map_err(|e| refuse(&field, e))?;
        if out.contains(&ticker) {
            return Err(refuse(&field, format!("{ticker} is listed twice")));
        }
        out.push(ticker);
    }
    Ok(out)
}

/// A decimal amount given as a JSON number or a string.
fn amount(field: &str, raw: &Value) -> Result<String, ApiError> {
    let text = match raw {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(refuse(field, "must be a number such as 10 or \"1500.25\"")),
    };
    decimal(&text).ok_or_else(|| {
        refuse(
            field,
            format!("`{}` is not a number such as 10 or 1500.25", text.trim()),
        )
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionBody {
    pub ticker: Value,
    pub quantity: Value,
    pub cost_basis: Value,
}

/// A position, checked: the quantity above zero, the cost basis zero or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub ticker: Ticker,
    pub quantity: String,
    pub cost_basis: String,
}

fn positions_of(raw: &[PositionBody]) -> Result<Vec<Position>, ApiError> {
    if raw.len() > MAX_ITEMS {
        return Err(refuse("positions", format!("at most {MAX_ITEMS}")));
    }
    let mut out: Vec<Position> = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let field = |name: &str| format!("positions[{i}].{name}");
        let text = p
            .ticker
            .as_str()
            .ok_or_else(|| refuse(field("ticker"), "must be a ticker such as AAPL"))?;
        let ticker = Ticker::parse(text).map_err(|e| refuse(field("ticker"), e))?;
        if out.iter().any(|o| o.ticker == ticker) {
            return Err(refuse(field("ticker"), format!("{ticker} is listed twice")));
        }
        let quantity = amount(&field("quantity"), &p.quantity)?;
        if quantity.starts_with('-') || quantity.bytes().all(|b| b == b'0' || b == b'.') {
            return Err(refuse(field("quantity"), "must be more than zero"));
        }
        let cost_basis = amount(&field("cost_basis"), &p.cost_basis)?;
        if cost_basis.starts_with('-') {
            return Err(refuse(field("cost_basis"), "must not be negative"));
        }
        out.push(Position {
            ticker,
            quantity,
            cost_basis,
        });
    }
    Ok(out)
}

/// Refuses a ticker Sluice does not follow, naming the field (`tickers[2]`).
async fn known_tickers(
    client: &impl deadpool_postgres::GenericClient,
    tickers: &[String],
    field: fn(usize) -> String,
) -> Result<(), ApiError> {
    let unknown = client
        .query_opt(
            "SELECT t, i FROM unnest($1::text[]) WITH ORDINALITY u(t, i)
             WHERE NOT EXISTS (SELECT 1 FROM tickers WHERE ticker = u.t) ORDER BY i LIMIT 1",
            &[&tickers],
        )
        .await?;
    match unknown {
        None => Ok(()),
        Some(row) => {
            let (ticker, i): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
            Err(refuse(
                field(usize::try_from(i - 1).unwrap_or(0)),
                format!("{ticker} is not a ticker Sluice follows"),
            ))
        }
    }
}

/// A kind of list each user keeps: its name in answers, its table and id column.
#[derive(Debug, Clone, Copy)]
struct Kind {
    name: &'static str,
    table: &'static str,
    id: &'static str,
}

const WATCHLIST: Kind = Kind {
    name: "watchlist",
    table: "watchlists",
    id: "watchlist_id",
};
const PORTFOLIO: Kind = Kind {
    name: "portfolio",
    table: "portfolios",
    id: "portfolio_id",
};

impl Kind {
    fn missing(&self, raw: &str) -> ApiError {
        ApiError::not_found(format!("no {} {raw}", self.name))
    }

    fn id_of(&self, raw: &str) -> Result<i64, ApiError> {
        raw.trim().parse().map_err(|_| self.missing(raw))
    }

    /// A unique name taken: the caller already has a list called so.
    fn taken(&self, name: &str, e: tokio_postgres::Error) -> ApiError {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            ApiError::Conflict(format!("name: you already have a {} called `{name}`", self.name))
        } else {
            e.into()
        }
    }

    /// A new list of the caller's (at most [`MAX_LISTS`] of a kind); its id.
    async fn create(&self, tx: &deadpool_postgres::Transaction<'_>, user: &str, name: &str) -> Result<i64, ApiError> {
        let count: i64 = tx
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE user_id = $1", self.table),
                &[&user],
            )
            .await?
            .try_get(0)?;
        if count >= MAX_LISTS {
            return Err(ApiError::Conflict(format!(
                "you have {count} {}, the most one user may keep; delete one first",
                self.table
            )));
        }
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO {} (user_id, name) VALUES ($1, $2) RETURNING {}",
                    self.table, self.id
                ),
                &[&user, &name],
            )
            .await
            .map_err(|e| self.taken(name, e))?;
        Ok(row.try_get(0)?)
    }

    /// Renames the caller's list (or only marks it changed); a 404 when it is not theirs.
    async fn touch(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        raw_id: &str,
        id: i64,
        user: &str,
        name: Option<&str>,
    ) -> Result<(), ApiError> {
        let found = tx
            .execute(
                &format!(
                    "UPDATE {} SET name = coalesce($3, name), updated_at = now() WHERE {} = $1 AND user_id = $2",
                    self.table, self.id
                ),
                &[&id, &user, &name],
            )
            .await
            .map_err(|e| self.taken(name.unwrap_or_default(), e))?;
        if found == 0 {
            return Err(self.missing(raw_id));
        }
        Ok(())
    }

    /// `DELETE /v1/<kind>s/{id}`: the caller's list goes; anyone else's is a 404.
    async fn delete(&self, api: &ApiState, raw_id: &str, user: &str) -> Result<Response, ApiError> {
        let id = self.id_of(raw_id)?;
        let client = api.pool.get().await?;
        let deleted = client
            .execute(
                &format!("DELETE FROM {} WHERE {} = $1 AND user_id = $2", self.table, self.id),
                &[&id, &user],
            )
            .await?;
        if deleted == 0 {
            return Err(self.missing(raw_id));
        }
        Ok(json(StatusCode::OK, &json!({ "deleted": id })))
    }
}

/// The latest quote of one ticker, `None` when there is none.
async fn quote_of(api: &ApiState, ticker: String) -> Result<Option<QuoteView>, ApiError> {
    match Ticker::parse(&ticker) {
        Ok(ticker) => api.market.quote(&ticker).await.map_err(ApiError::internal),
        Err(_) => Ok(None),
    }
}

/// The latest quote of each ticker, eight at a time, in order.
async fn quotes(api: &ApiState, tickers: &[String]) -> Result<Vec<Option<QuoteView>>, ApiError> {
    let mut out = Vec::with_capacity(tickers.len());
    for chunk in tickers.chunks(8) {
        let got = futures::future::try_join_all(chunk.iter().map(|t| quote_of(api, t.clone()))).await?;
        out.extend(got);
    }
    Ok(out)
}

/// A price as an exact decimal string (the shortest that reads back as the same float).
fn price_text(q: &QuoteView) -> Option<String> {
    let p = q.quote.price;
    (p.is_finite() && p > 0.0).then(|| format!("{p}"))
}

// ---------------------------------------------------------------- watchlists

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchlistBody {
    pub name: Option<String>,
    pub tickers: Option<Vec<Value>>,
}

const WATCHLIST_JSON: &str = "jsonb_build_object('id', w.watchlist_id, 'name', w.name,
    'tickers', coalesce((SELECT jsonb_agg(i.ticker ORDER BY i.position) FROM watchlist_items i
                         WHERE i.watchlist_id = w.watchlist_id), '[]'),
    'created_at', w.created_at, 'updated_at', w.updated_at)";

/// `GET /v1/watchlists`: the caller's watchlists, by name.
pub async fn watchlists(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&[])?;
    let client = api.pool.get().await?;
    let rows = client
        .query(
            &format!("SELECT {WATCHLIST_JSON} FROM watchlists w WHERE w.user_id = $1 ORDER BY w.name, w.watchlist_id"),
            &[&caller.user_id],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| r.try_get::<_, Value>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(StatusCode::OK, &json!({ "items": items })))
}

async fn put_tickers(tx: &deadpool_postgres::Transaction<'_>, id: i64, tickers: &[Ticker]) -> Result<(), ApiError> {
    let names: Vec<String> = tickers.iter().map(|t| t.as_str().to_owned()).collect();
    known_tickers(tx, &names, |i| format!("tickers[{i}]")).await?;
    tx.execute("DELETE FROM watchlist_items WHERE watchlist_id = $1", &[&id])
        .await?;
    tx.execute(
        "INSERT INTO watchlist_items (watchlist_id, ticker, position)
         SELECT $1, t, i FROM unnest($2::text[]) WITH ORDINALITY u(t, i)",
        &[&id, &names],
    )
    .await?;
    Ok(())
}

async fn one_watchlist(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
    user: &str,
) -> Result<Option<Value>, ApiError> {
    Ok(client
        .query_opt(
            &format!("SELECT {WATCHLIST_JSON} FROM watchlists w WHERE w.watchlist_id = $1 AND w.user_id = $2"),
            &[&id, &user],
        )
        .await?
        .map(|r| r.try_get::<_, Value>(0))
        .transpose()?)
}

/// `POST /v1/watchlists` `{name, tickers?}`.
pub async fn create_watchlist(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody<WatchlistBody>,
) -> Result<Response, ApiError> {
    let name = name_of(body.name.as_deref().ok_or_else(|| refuse("name", "is required"))?)?;
    let tickers = tickers_of(body.tickers.as_deref().unwrap_or_default())?;
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    let id = WATCHLIST.create(&tx, &caller.user_id, &name).await?;
    put_tickers(&tx, id, &tickers).await?;
    let list = one_watchlist(&tx, id, &caller.user_id).await?;
    tx.commit().await?;
    Ok(json(StatusCode::CREATED, &list.unwrap_or(Value::Null)))
}

/// `GET /v1/watchlists/{id}`: the list with each ticker's latest quote.
pub async fn watchlist(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = WATCHLIST.id_of(&raw_id)?;
    let mut list = {
        let client = api.pool.get().await?;
        one_watchlist(&client, id, &caller.user_id).await?
    }
    .ok_or_else(|| WATCHLIST.missing(&raw_id))?;
    let tickers: Vec<String> = list["tickers"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let quotes = quotes(&api, &tickers).await?;
    list["quotes"] = tickers
        .iter()
        .zip(quotes)
        .map(|(t, q)| match q {
            Some(q) => json!({
                "ticker": t, "price": price_text(&q), "change_percent": q.quote.change_percent,
                "as_of": q.quote.as_of, "trading_date": q.trading_date, "source": q.source,
            }),
            None => json!({ "ticker": t, "price": null }),
        })
        .collect::<Vec<_>>()
        .into();
    Ok(json(StatusCode::OK, &list))
}

/// `PUT /v1/watchlists/{id}` `{name?, tickers?}`: `tickers` replaces the list's whole.
pub async fn update_watchlist(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
    JsonBody(body): JsonBody<WatchlistBody>,
) -> Result<Response, ApiError> {
    let id = WATCHLIST.id_of(&raw_id)?;
    let name = body.name.as_deref().map(name_of).transpose()?;
    let tickers = body.tickers.as_deref().map(tickers_of).transpose()?;
    if name.is_none() && tickers.is_none() {
        return Err(refuse("body", "give name, tickers or both"));
    }
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    WATCHLIST
        .touch(&tx, &raw_id, id, &caller.user_id, name.as_deref())
        .await?;
    if let Some(tickers) = &tickers {
        put_tickers(&tx, id, tickers).await?;
    }
    let list = one_watchlist(&tx, id, &caller.user_id).await?;
    tx.commit().await?;
    Ok(json(StatusCode::OK, &list.unwrap_or(Value::Null)))
}

/// `DELETE /v1/watchlists/{id}`.
pub async fn delete_watchlist(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    WATCHLIST.delete(&api, &raw_id, &caller.user_id).await
}

// ---------------------------------------------------------------- portfolios

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioBody {
    pub name: Option<String>,
    pub positions: Option<Vec<PositionBody>>,
}

const PORTFOLIO_JSON: &str = "jsonb_build_object('id', p.portfolio_id, 'name', p.name,
    'positions', (SELECT count(*) FROM portfolio_positions x WHERE x.portfolio_id = p.portfolio_id),
    'created_at', p.created_at, 'updated_at', p.updated_at)";

/// `GET /v1/portfolios`: the caller's portfolios, by name (each valued by `{id}`).
pub async fn portfolios(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&[])?;
    let client = api.pool.get().await?;
    let rows = client
        .query(
            &format!("SELECT {PORTFOLIO_JSON} FROM portfolios p WHERE p.user_id = $1 ORDER BY p.name, p.portfolio_id"),
            &[&caller.user_id],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| r.try_get::<_, Value>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(StatusCode::OK, &json!({ "items": items })))
}

async fn put_positions(
    tx: &deadpool_postgres::Transaction<'_>,
    id: i64,
    positions: &[Position],
) -> Result<(), ApiError> {
    let tickers: Vec<String> = positions.iter().map(|p| p.ticker.as_str().to_owned()).collect();
    known_tickers(tx, &tickers, |i| format!("positions[{i}].ticker")).await?;
    let quantities: Vec<String> = positions.iter().map(|p| p.quantity.clone()).collect();
    let costs: Vec<String> = positions.iter().map(|p| p.cost_basis.clone()).collect();
    tx.execute("DELETE FROM portfolio_positions WHERE portfolio_id = $1", &[&id])
        .await?;
    tx.execute(
        "INSERT INTO portfolio_positions (portfolio_id, ticker, quantity, cost_basis, position)
         SELECT $1, t, q::numeric, c::numeric, i
         FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY u(t, q, c, i)",
        &[&id, &tickers, &quantities, &costs],
    )
    .await?;
    Ok(())
}

/// `POST /v1/portfolios` `{name, positions?: [{ticker, quantity, cost_basis}]}`.
pub async fn create_portfolio(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody<PortfolioBody>,
) -> Result<Response, ApiError> {
    let name = name_of(body.name.as_deref().ok_or_else(|| refuse("name", "is required"))?)?;
    let positions = positions_of(body.positions.as_deref().unwrap_or_default())?;
    let id = {
        let mut client = api.pool.get().await?;
        let tx = client.transaction().await?;
        let id = PORTFOLIO.create(&tx, &caller.user_id, &name).await?;
        put_positions(&tx, id, &positions).await?;
        tx.commit().await?;
        id
    };
    let valued = valuation(&api, id, &caller.user_id).await?;
    Ok(json(StatusCode::CREATED, &valued.unwrap_or(Value::Null)))
}

/// A portfolio valued at the latest quotes: per position the price, market value
/// (quantity × price), unrealised P/L (market value − cost basis) and its percentage of
/// the cost, and its allocation (share of the priced positions' market value); totals.
async fn valuation(api: &ApiState, id: i64, user: &str) -> Result<Option<Value>, ApiError> {
    let client = api.pool.get().await?;
    let Some(row) = client
        .query_opt(
            &format!("SELECT {PORTFOLIO_JSON} FROM portfolios p WHERE p.portfolio_id = $1 AND p.user_id = $2"),
            &[&id, &user],
        )
        .await?
    else {
        return Ok(None);
    };
    let mut portfolio: Value = row.try_get(0)?;
    let positions = client
        .query(
            "SELECT ticker, quantity::text, cost_basis::text FROM portfolio_positions
             WHERE portfolio_id = $1 ORDER BY position",
            &[&id],
        )
        .await?;
    drop(client);
    let tickers: Vec<String> = positions.iter().map(|r| r.get(0)).collect();
    let quantities: Vec<String> = positions.iter().map(|r| r.get(1)).collect();
    let costs: Vec<String> = positions.iter().map(|r| r.get(2)).collect();
    let quotes = quotes(api, &tickers).await?;
    let prices: Vec<Option<String>> = quotes.iter().map(|q| q.as_ref().and_then(price_text)).collect();
    let sources: Vec<Value> = quotes
        .iter()
        .map(|q| match q {
            Some(q) => json!({ "source": q.source, "as_of": q.quote.as_of, "trading_date": q.trading_date }),
            None => Value::Null,
        })
        .collect();
    let client = api.pool.get().await?;
    let valued = client
        .query_one(
            "WITH v AS (
                 SELECT t AS ticker, q::numeric AS quantity, c::numeric AS cost, p::numeric AS price,
                        q::numeric * p::numeric AS value, i
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY u(t, q, c, p, i)),
             total AS (
                 SELECT sum(value) AS value, sum(cost) FILTER (WHERE price IS NOT NULL) AS priced_cost,
                        coalesce(sum(cost), 0) AS cost, count(*) FILTER (WHERE price IS NULL) AS unpriced
                 FROM v)
             SELECT coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'ticker', v.ticker, 'quantity', v.quantity::text, 'cost_basis', v.cost::text,
                        'average_cost', round(v.cost / v.quantity, 6)::text,
                        'price', v.price::text, 'market_value', v.value::text,
                        'unrealised_pl', (v.value - v.cost)::text,
                        'unrealised_pl_pct', CASE WHEN v.cost > 0 THEN round((v.value - v.cost) / v.cost * 100, 2)::text END,
                        'allocation_pct', CASE WHEN total.value > 0 THEN round(v.value / total.value * 100, 2)::text END)
                      ORDER BY v.i) FROM v, total), '[]'),
                    (SELECT jsonb_build_object(
                        'market_value', coalesce(value, 0)::text, 'cost_basis', cost::text,
                        'unrealised_pl', coalesce(value - priced_cost, 0)::text,
                        'unrealised_pl_pct', CASE WHEN priced_cost > 0 THEN round((value - priced_cost) / priced_cost * 100, 2)::text END,
                        'unpriced_positions', unpriced) FROM total)",
            &[&tickers, &quantities, &costs, &prices],
        )
        .await?;
    let mut items: Value = valued.try_get(0)?;
    if let Some(items) = items.as_array_mut() {
        for (item, source) in items.iter_mut().zip(sources) {
            item["quote"] = source;
        }
    }
    portfolio["positions"] = items;
    portfolio["totals"] = valued.try_get(1)?;
    Ok(Some(portfolio))
}

/// `GET /v1/portfolios/{id}`: the portfolio valued at the latest quotes.
pub async fn portfolio(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = PORTFOLIO.id_of(&raw_id)?;
    let valued = valuation(&api, id, &caller.user_id)
        .await?
        .ok_or_else(|| PORTFOLIO.missing(&raw_id))?;
    Ok(json(StatusCode::OK, &valued))
}

/// `PUT /v1/portfolios/{id}` `{name?, positions?}`: `positions` replaces them all.
pub async fn update_portfolio(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
    JsonBody(body): JsonBody<PortfolioBody>,
) -> Result<Response, ApiError> {
    let id = PORTFOLIO.id_of(&raw_id)?;
    let name = body.name.as_deref().map(name_of).transpose()?;
    let positions = body.positions.as_deref().map(positions_of).transpose()?;
    if name.is_none() && positions.is_none() {
        return Err(refuse("body", "give name, positions or both"));
    }
    {
        let mut client = api.pool.get().await?;
        let tx = client.transaction().await?;
        PORTFOLIO
            .touch(&tx, &raw_id, id, &caller.user_id, name.as_deref())
            .await?;
        if let Some(positions) = &positions {
            put_positions(&tx, id, positions).await?;
        }
        tx.commit().await?;
    }
    let valued = valuation(&api, id, &caller.user_id).await?;
    Ok(json(StatusCode::OK, &valued.unwrap_or(Value::Null)))
}

/// `DELETE /v1/portfolios/{id}`.
pub async fn delete_portfolio(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    PORTFOLIO.delete(&api, &raw_id, &caller.user_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(e: ApiError) -> String {
        e.to_string()
    }

    #[test]
    fn tickers_are_checked_one_by_one() {
        let ok = tickers_of(&[json!("aapl"), json!(" msft ")]).unwrap();
        assert_eq!(ok.iter().map(Ticker::as_str).collect::<Vec<_>>(), ["AAPL", "MSFT"]);
        assert!(detail(tickers_of(&[json!("AAPL"), json!(5)]).unwrap_err()).starts_with("tickers[1]:"));
        assert!(detail(tickers_of(&[json!("NOT_A_TICKER")]).unwrap_err()).starts_with("tickers[0]:"));
        assert!(detail(tickers_of(&[json!("AAPL"), json!("aapl")]).unwrap_err()).contains("twice"));
        assert!(name_of("  ").is_err() && name_of(&"x".repeat(101)).is_err());
        assert_eq!(name_of(" Tech ").unwrap(), "Tech");
    }

    #[test]
    fn positions_are_exact_decimals_named_by_field() {
        let body = |v: Value| -> Vec<PositionBody> { serde_json::from_value(v).unwrap() };
        let ok = positions_of(&body(json!([
            {"ticker": "aapl", "quantity": 10, "cost_basis": "1500.25"},
            {"ticker": "MSFT", "quantity": "0.5", "cost_basis": 0}
        ])))
        .unwrap();
        assert_eq!(
            (
                ok[0].ticker.as_str(),
                ok[0].quantity.as_str(),
                ok[0].cost_basis.as_str()
            ),
            ("AAPL", "10", "1500.25")
        );
        assert_eq!(ok[1].quantity, "0.5");
        for (bad, field) in [
            (
                json!([{"ticker": 1, "quantity": 1, "cost_basis": 1}]),
                "positions[0].ticker",
            ),
            (
                json!([{"ticker": "AAPL", "quantity": "ten", "cost_basis": 1}]),
                "positions[0].quantity",
            ),
            (
                json!([{"ticker": "AAPL", "quantity": 0, "cost_basis": 1}]),
                "positions[0].quantity",
            ),
            (
                json!([{"ticker": "AAPL", "quantity": "0.00", "cost_basis": 1}]),
                "positions[0].quantity",
            ),
            (
                json!([{"ticker": "AAPL", "quantity": -1, "cost_basis": 1}]),
                "positions[0].quantity",
            ),
            (
                json!([{"ticker": "AAPL", "quantity": 1, "cost_basis": "-5"}]),
                "positions[0].cost_basis",
            ),
            (
                json!([{"ticker": "AAPL", "quantity": 1, "cost_basis": null}]),
                "positions[0].cost_basis",
            ),
            (
                json!([{"ticker": "AAPL", "quantity": 1, "cost_basis": "1e3"}]),
                "positions[0].cost_basis",
            ),
            (
                json!([{"ticker": "AAPL", "quantity": 1, "cost_basis": 1}, {"ticker": "aapl", "quantity": 1, "cost_basis": 1}]),
                "positions[1].ticker",
            ),
        ] {
            let e = detail(positions_of(&body(bad.clone())).unwrap_err());
            assert!(e.starts_with(&format!("{field}:")), "{bad}: {e}");
        }
    }

    #[test]
    fn prices_are_written_as_the_decimals_they_came_as() {
        let view = |price: f64| QuoteView {
            quote: sluice_market::Quote {
                ticker: Ticker::parse("AAPL").unwrap(),
                price,
                open: None,
                day_high: None,
                day_low: None,
                previous_close: None,
                change: None,
                change_percent: None,
                volume: None,
                as_of: None,
            },
            trading_date: None,
            source: sluice_market::QuoteSource::Cache,
        };
        assert_eq!(price_text(&view(189.84)).as_deref(), Some("189.84"));
        assert_eq!(price_text(&view(0.1 + 0.2)).as_deref(), Some("0.30000000000000004"));
        assert_eq!(price_text(&view(1e21)).as_deref(), Some("1000000000000000000000"));
        assert_eq!(price_text(&view(0.0)), None);
    }
}
