//! Bulk import (seed 002): `POST /v1/bulk-imports/quote` (what a list of tickers, forms
//! and fiscal years costs: no EDGAR request, nothing held or charged),
//! `POST /v1/bulk-imports` (the quote held, one filing request per filing queued for
//! filing-fetcher), `GET /v1/bulk-imports[/{id}]`, `DELETE /v1/bulk-imports/{id}`
//! (cancel). The states and the credits move in [`sluice_core::bulk`].

use super::analyses::time_and_id;
use super::listing::{self, Format, Listing, Param};
use crate::caller::Caller;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Datelike, Utc};
use deadpool_postgres::Transaction;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_core::auth::Principal;
use sluice_core::bulk::{self, Cancelled, NewImport, Quote};
use sluice_core::{ledger, lifecycle, Destination, EventPublisher};
use sluice_messages::{
    BulkFilingRequested, BulkSelection, CompanyRef, CorrelationId, Envelope, FilingSelector, FilingSpec, Money,
    Payload, Producer,
};
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::sync::Arc;
use uuid::Uuid;

/// The body of `POST /v1/bulk-imports` and of its quote.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkImportBody {
    pub tickers: Vec<String>,
    pub forms: Vec<String>,
    pub years: Vec<i64>,
}

impl BulkImportBody {
    /// Into a selection, with the reason a person can act on when it is wrong.
    pub fn parse(&self, this_year: i32) -> Result<BulkSelection, ApiError> {
        BulkSelection::parse(&self.tickers, &self.forms, &self.years, this_year)
            .map_err(|e| ApiError::invalid(e.to_string()))
    }
}

/// What an import would fetch and cost for this caller, now.
struct Plan {
    selection: BulkSelection,
    /// Every filing of the selection, with the stored filing when there is one.
    items: Vec<(FilingSpec, Option<Uuid>)>,
    quote: Quote,
}

/// `POST /v1/bulk-imports/quote`: the filings a selection names, what is stored already,
/// and the price. Free: no EDGAR request, nothing held or charged.
pub async fn quote(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody<BulkImportBody>,
) -> Result<Response, ApiError> {
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    let plan = api.plan(&tx, &caller, &body).await?;
    let available = available(&tx, &caller.user_id).await?;
    tx.commit().await?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "selection": plan.selection.to_json(),
            "quote": quote_json(&plan.quote),
            "available": available.view(),
            "affordable": plan.quote.price <= available,
            "links": { "create": "/v1/bulk-imports" },
        }),
    ))
}

/// `POST /v1/bulk-imports`: holds the quote (402 when the balance, besides what running
/// work holds, does not cover it) and queues one filing request per filing not stored.
/// An `Idempotency-Key` header makes a retried request answer the import it created.
pub async fn create(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<BulkImportBody>,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(k)) if !k.trim().is_empty() && k.trim().len() <= 200 => Some(k.trim().to_owned()),
        Some(_) => return Err(ApiError::invalid("Idempotency-Key must be 1 to 200 characters")),
        None => None,
    };
    let queue = api.analyses.filings_queue_url.clone();
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    // Beside analyses and charges, which count the same holds.
    ledger::lock_account(&tx, &caller.user_id).await?;
    if let Some(key) = &key {
        if let Some(id) = bulk::by_idempotency_key(&tx, &caller.user_id, key)
            .await
            .map_err(internal)?
        {
            let view = import_json(&tx, &caller.user_id, id).await?;
            tx.commit().await?;
            return Ok(json(StatusCode::OK, &view));
        }
    }
    // A filing whose request ended in the dead-letter queue would hold credits forever.
    let expired = bulk::expire_stale(&tx, &caller.user_id, STALE_FILING_AFTER)
        .await
        .map_err(internal)?;
    if expired > 0 {
        tracing::warn!(expired, "stale bulk import filings given up");
    }
    let plan = api.plan(&tx, &caller, &body).await?;
    let available = available(&tx, &caller.user_id).await?;
    if plan.quote.price > available {
        return Err(ApiError::InsufficientCredits(format!(
            "this import may cost {} ({} filings to fetch at {} each); your available balance is {available}",
            plan.quote.price, plan.quote.to_fetch, plan.quote.unit_price
        )));
    }
    let id = Uuid::new_v4();
    let queued = bulk::create(
        &tx,
        &NewImport {
            id,
            user_id: &caller.user_id,
            tier: caller.tier,
            selection: &plan.selection,
            quote: plan.quote,
            idempotency_key: key.as_deref(),
            items: &plan.items,
        },
    )
    .await
    .map_err(internal)?;
    let correlation = CorrelationId::parse(&format!("bulk-import-{id}")).unwrap_or_default();
    for (item_id, spec) in queued {
        let envelope = Envelope::new(
            Producer::HttpApi,
            correlation.clone(),
            Payload::BulkFilingRequested(BulkFilingRequested {
                import_id: id,
                item_id,
                user_id: caller.user_id.clone(),
                tier: caller.tier,
                spec,
            }),
        )
        .with_derived_id(&item_id.to_string());
        EventPublisher::stage(&tx, &Destination::FifoQueue(queue.clone()), &envelope).await?;
    }
    let view = import_json(&tx, &caller.user_id, id).await?;
    tx.commit().await?;
    drop(client);
    api.flush_outbox().await;
    tracing::info!(import_id = %id, filings = plan.quote.to_fetch, held = plan.quote.price.micros(), "bulk import created");
    let mut response = json(StatusCode::CREATED, &view);
    if let Ok(location) = http::HeaderValue::from_str(&format!("/v1/bulk-imports/{id}")) {
        response.headers_mut().insert(http::header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /v1/bulk-imports/{id}`: the caller's own import, with its filings.
pub async fn get(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&raw_id).map_err(|_| unknown(&raw_id))?;
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    let mut view = import_json(&tx, &caller.user_id, id).await?;
    let filings: Vec<Value> = tx
        .query(
            "SELECT spec_key, status, filing_id, charged_micros, failure_reason FROM bulk_import_items
             WHERE import_id = $1 ORDER BY spec_key",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| {
            json!({
                "filing": r.get::<_, String>(0),
                "status": r.get::<_, String>(1),
                "filing_id": r.get::<_, Option<Uuid>>(2),
                "charged": r.get::<_, Option<i64>>(3).map(|m| Money::from_micros(m).view()),
                "reason": r.get::<_, Option<String>>(4),
            })
        })
        .collect();
    tx.commit().await?;
    view["filings"] = Value::Array(filings);
    Ok(json(StatusCode::OK, &view))
}

/// `GET /v1/bulk-imports?limit=&cursor=`: the caller's imports, newest first.
pub async fn list(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["limit", "cursor"])?;
    let limit = listing::limit(&query)?;
    let after = listing::cursor(&query, time_and_id)?;
    let params: Vec<Param> = vec![
        Box::new(caller.user_id.clone()),
        Box::new(after.map(|a| a.0)),
        Box::new(after.map(|a| a.1)),
    ];
    Listing {
        sql: format!(
            "{IMPORT_SELECT} WHERE b.user_id = $1
               AND ($2::timestamptz IS NULL OR (b.created_at, b.id) < ($2, $3::uuid))
             ORDER BY b.created_at DESC, b.id DESC LIMIT $4"
        ),
        params,
        item: |r| Ok(row_json(r)),
        key: |r| {
            let at: DateTime<Utc> = r.try_get(8)?;
            Ok(json!([at.timestamp_micros(), r.try_get::<_, Uuid>(0)?]))
        },
        columns: IMPORT_COLUMNS,
        file_name: "bulk-imports.csv",
    }
    .respond(&api, Format::of(&headers), limit)
    .await
}

/// `DELETE /v1/bulk-imports/{id}`: cancels the caller's running import. Filings not yet
/// fetched are not fetched or charged and the hold is released; those stored stay charged.
/// An import that ended already is answered as it is.
pub async fn cancel(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&raw_id).map_err(|_| unknown(&raw_id))?;
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    match bulk::cancel(&tx, &caller.user_id, id).await.map_err(internal)? {
        Cancelled::Unknown => return Err(unknown(&raw_id)),
        Cancelled::Ended(_) => {}
        Cancelled::Now(progress) => {
            if let Some(topic) = &api.analyses.events_topic_arn {
                bulk::announce(&tx, topic, Producer::HttpApi, progress, &format!("{id}:cancelled"))
                    .await
                    .map_err(internal)?;
            }
            tracing::info!(import_id = %id, "bulk import cancelled by its user");
        }
    }
    let view = import_json(&tx, &caller.user_id, id).await?;
    tx.commit().await?;
    drop(client);
    api.flush_outbox().await;
    Ok(json(StatusCode::OK, &view))
}

impl ApiState {
    /// Validates a request for `caller` and prices it, in `tx` (no EDGAR request): 403
    /// for a tier that may not bulk import or years it does not cover, 400 for a bad or
    /// unknown value.
    async fn plan(&self, tx: &Transaction<'_>, caller: &Principal, body: &BulkImportBody) -> Result<Plan, ApiError> {
        let policy = caller.tier.policy();
        let unit_price = match (policy.bulk_import_fee, policy.bulk_import_refusal()) {
            (Some(fee), None) => fee,
            (_, why) => return Err(ApiError::Forbidden(why.unwrap_or_default())),
        };
        let today = self.clock.today();
        let selection = body.parse(today.year())?;
        if let Some(why) = policy.bulk_years_refusal(selection.earliest_year(), today) {
            return Err(ApiError::Forbidden(why));
        }
        let tickers: Vec<&str> = selection.tickers().iter().map(|t| t.as_str()).collect();
        let unknown: Vec<String> = tx
            .query(
                "SELECT t FROM unnest($1::text[]) AS t
                 WHERE NOT EXISTS (SELECT 1 FROM tickers WHERE ticker = t)
                   AND NOT EXISTS (SELECT 1 FROM edgar_companies WHERE ticker = t)",
                &[&tickers],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::invalid(format!(
                "unknown ticker(s): {} (Sluice knows the tickers of its universe and of EDGAR's company list)",
                unknown.join(", ")
            )));
        }
        let specs = selection.specs();
        let stored = stored_filings(tx, &specs).await?;
        let flags: Vec<bool> = stored.iter().map(Option::is_some).collect();
        let quote = bulk::quote(unit_price, &flags);
        Ok(Plan {
            selection,
            items: specs.into_iter().zip(stored).collect(),
            quote,
        })
    }
}

/// The stored filing of each spec, if any: matched like `POST /v1/analyses` matches a
/// request (the ticker through EDGAR's directory or the universe, form, fiscal year and
/// quarter). One query for the whole selection.
async fn stored_filings(tx: &Transaction<'_>, specs: &[FilingSpec]) -> Result<Vec<Option<Uuid>>, ApiError> {
    let mut tickers = Vec::with_capacity(specs.len());
    let mut forms = Vec::with_capacity(specs.len());
    let mut years = Vec::with_capacity(specs.len());
    let mut quarters = Vec::with_capacity(specs.len());
    for spec in specs {
        tickers.push(match &spec.company {
            CompanyRef::Ticker(t) => t.to_string(),
            CompanyRef::Cik(c) => c.to_string(),
        });
        forms.push(spec.form.as_str());
        years.push(spec.selector.year());
        quarters.push(match spec.selector {
            FilingSelector::FiscalQuarter { quarter, .. } => Some(i16::from(quarter)),
            _ => None,
        });
    }
    let rows = tx
        .query(
            "SELECT s.n, f.id
             FROM unnest($1::text[], $2::text[], $3::int[], $4::smallint[]) WITH ORDINALITY AS s(ticker, form, year, quarter, n)
             LEFT JOIN LATERAL (
                 SELECT id FROM filings
                 WHERE form = s.form AND fiscal_year = s.year
                   AND (s.quarter IS NULL OR fiscal_quarter = s.quarter)
                   AND (ticker = s.ticker OR cik IN (SELECT cik FROM edgar_companies WHERE ticker = s.ticker)
                        OR cik IN (SELECT cik FROM tickers WHERE ticker = s.ticker))
                 ORDER BY filing_date DESC LIMIT 1) f ON true
             ORDER BY s.n",
            &[&tickers, &forms, &years, &quarters],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get::<_, Option<Uuid>>(1)).collect())
}

/// The balance besides what running analyses and imports hold.
async fn available(tx: &Transaction<'_>, user_id: &str) -> Result<Money, ApiError> {
    let held = lifecycle::holds(tx, user_id).await?.held;
    let balance: i64 = tx
        .query_opt(
            "SELECT credit_balance_micros FROM user_accounts WHERE user_id = $1",
            &[&user_id],
        )
        .await?
        .map_or(0, |r| r.get(0));
    Ok(Money::from_micros(balance - held.micros()))
}

/// Longer than the filing requests queue keeps retrying a request.
const STALE_FILING_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

fn quote_json(q: &Quote) -> Value {
    json!({
        "filings": q.filings,
        "already_stored": q.already_stored,
        "to_fetch": q.to_fetch,
        "unit_price": q.unit_price.view(),
        "price": q.price.view(),
    })
}

fn unknown(raw_id: &str) -> ApiError {
    ApiError::not_found(format!("you have no bulk import {raw_id}"))
}

fn internal(e: bulk::BulkError) -> ApiError {
    ApiError::internal(e)
}

const IMPORT_SELECT: &str = "SELECT b.id, b.status, b.selection, b.tier, b.unit_price_micros, b.quoted_micros,
    b.held_micros, b.charged_micros, b.created_at, b.updated_at, b.finished_at,
    c.queued, c.stored, c.already_stored, c.failed, c.cancelled
    FROM bulk_imports b, LATERAL (
        SELECT count(*) FILTER (WHERE i.status = 'queued') AS queued,
               count(*) FILTER (WHERE i.status = 'stored') AS stored,
               count(*) FILTER (WHERE i.status = 'already_stored') AS already_stored,
               count(*) FILTER (WHERE i.status = 'failed') AS failed,
               count(*) FILTER (WHERE i.status = 'cancelled') AS cancelled
        FROM bulk_import_items i WHERE i.import_id = b.id) c";

const IMPORT_COLUMNS: &[&str] = &[
    "id",
    "status",
    "selection",
    "tier",
    "unit_price",
    "quoted",
    "held",
    "charged",
    "counts",
    "created_at",
    "updated_at",
    "finished_at",
];

/// The caller's import `id` as the API shows it (404 when it is not theirs).
async fn import_json(tx: &Transaction<'_>, user_id: &str, id: Uuid) -> Result<Value, ApiError> {
    let row = tx
        .query_opt(
            &format!("{IMPORT_SELECT} WHERE b.id = $1 AND b.user_id = $2"),
            &[&id, &user_id],
        )
        .await?
        .ok_or_else(|| unknown(&id.to_string()))?;
    Ok(row_json(&row))
}

fn row_json(r: &tokio_postgres::Row) -> Value {
    let id: Uuid = r.get(0);
    let money = |i: usize| Money::from_micros(r.get::<_, i64>(i)).view();
    json!({
        "id": id,
        "status": r.get::<_, String>(1),
        "selection": r.get::<_, Value>(2),
        "tier": r.get::<_, String>(3),
        "unit_price": money(4),
        // What the quote said; held while filings are queued; charged as they arrived.
        "quoted": money(5),
        "held": money(6),
        "charged": money(7),
        "counts": {
            "queued": r.get::<_, i64>(11),
            "stored": r.get::<_, i64>(12),
            "already_stored": r.get::<_, i64>(13),
            "failed": r.get::<_, i64>(14),
            "cancelled": r.get::<_, i64>(15),
        },
        "created_at": r.get::<_, DateTime<Utc>>(8),
        "updated_at": r.get::<_, DateTime<Utc>>(9),
        "finished_at": r.get::<_, Option<DateTime<Utc>>>(10),
        "links": {
            "self": format!("/v1/bulk-imports/{id}"),
            "events": "/v1/events/stream",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_become_selections_or_say_what_is_wrong() {
        let body = |v: Value| serde_json::from_value::<BulkImportBody>(v).unwrap().parse(2026);
        let s = body(json!({"tickers": ["aapl"], "forms": ["10-K"], "years": [2024, 2025]})).unwrap();
        assert_eq!(s.filing_count(), 2);
        for (bad, words) in [
            (
                json!({"tickers": [], "forms": ["10-K"], "years": [2025]}),
                "tickers is empty",
            ),
            (
                json!({"tickers": ["AAPL"], "forms": ["8-K"], "years": [2025]}),
                "one at a time",
            ),
            (
                json!({"tickers": ["AAPL"], "forms": ["10-K"], "years": [2031]}),
                "1993 to 2026",
            ),
        ] {
            match body(bad.clone()) {
                Err(ApiError::InvalidRequest(why)) => assert!(why.contains(words), "{bad}: {why}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(serde_json::from_value::<BulkImportBody>(json!({"tickers": ["AAPL"], "forms": ["10-K"]})).is_err());
    }
}
