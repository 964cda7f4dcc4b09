//! Market data read back (any signed-in user): `GET /v1/quotes/{ticker}` (the cache
//! when fresh, else the latest stored daily bar) and `GET /v1/prices/{ticker}`.

use crate::caller::Caller;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
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
    let to = query.date("to")?.unwrap_or_else(|| api.clock.today());
    let from = match query.date("from")? {
        Some(from) => from,
        None => to
            .checked_sub_days(chrono::Days::new(30))
            .ok_or_else(|| ApiError::invalid("to is too early"))?,
    };
    if from > to {
        return Err(ApiError::invalid("from must not be after to"));
    }
    if (to - from).num_days() > 366 * 20 {
        return Err(ApiError::invalid("ask for at most 20 years at a time"));
    }
    let bars = api.market.prices(&ticker, from, to).await.map_err(ApiError::internal)?;
    Ok(json(
        StatusCode::OK,
        &json!({ "ticker": ticker, "from": from, "to": to, "items": bars }),
    ))
}
