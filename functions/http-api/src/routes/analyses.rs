//! Filing analyses: `POST /v1/analyses` (answer from the global pool at once, or
//! accept a task), `GET /v1/tasks/{id}`, `GET /v1/analyses/{id}`, `GET /v1/filings`.
//! The tier rules are pure functions at the bottom.

use super::listing::{self, Format, Listing, Param};
use crate::caller::Caller;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_core::auth::Principal;
use sluice_core::ledger::{self, ChargeOutcome};
use sluice_core::lifecycle::{self, NewTask, PoolKey, QuotedFees};
use sluice_core::{ConfigError, ConfigSource, Destination, EventPublisher};
use sluice_messages::{
    AccessionNumber, AnalysisKind, Cik, CompanyRef, CorrelationId, Envelope, FilingRequested, FilingSelector,
    FilingSpec, FilingType, ModelKey, Money, Payload, Producer, TaskStatus, Ticker, TierPolicy,
};
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::sync::Arc;
use uuid::Uuid;

/// Where analysis work goes and where its results are.
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    pub filings_queue_url: String,
    pub document_bucket: String,
    /// The model the analyser is configured with: the pool key of new analyses.
    pub model: ModelKey,
    /// `EVENTS_TOPIC_ARN`: where a cancelled bulk import's last progress is announced
    /// (unset: the cancellation is not announced on the stream).
    pub events_topic_arn: Option<String>,
}

impl AnalysisConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        Ok(Self {
            filings_queue_url: cfg.required("FILINGS_QUEUE_URL")?,
            document_bucket: cfg.required("DOCUMENT_BUCKET")?,
            model: lifecycle::configured_model(cfg)?,
            events_topic_arn: cfg.optional("EVENTS_TOPIC_ARN")?,
        })
    }
}

/// The body of `POST /v1/analyses`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisRequestBody {
    pub ticker: Option<String>,
    pub cik: Option<String>,
    pub form: String,
    pub fiscal_year: Option<i32>,
    /// With `fiscal_year`, for a 10-Q: its quarter (1 to 3; the fourth is the 10-K's).
    pub fiscal_quarter: Option<u8>,
    pub accession: Option<String>,
    pub kind: String,
}

impl AnalysisRequestBody {
    /// Into the domain request, with a message a person can act on when it is wrong.
    pub fn parse(self) -> Result<(FilingSpec, AnalysisKind), ApiError> {
        let bad = |e: sluice_messages::InvalidValue| ApiError::invalid(e.to_string());
        let company = match (self.ticker, self.cik) {
            (Some(t), None) => CompanyRef::Ticker(Ticker::parse(&t).map_err(bad)?),
            (None, Some(c)) => CompanyRef::Cik(Cik::parse(&c).map_err(bad)?),
            _ => return Err(ApiError::invalid("give exactly one of ticker or cik")),
        };
        let form = FilingType::parse(&self.form).map_err(bad)?;
        let selector = match (self.fiscal_year, self.fiscal_quarter, self.accession) {
            (Some(y), _, None) if !(1993..=2100).contains(&y) => {
                return Err(ApiError::invalid("fiscal_year must be a year like 2024"))
            }
            (Some(y), None, None) => FilingSelector::FiscalYear(y),
            (Some(year), Some(quarter), None) if form == FilingType::TenQ && (1..=3).contains(&quarter) => {
                FilingSelector::FiscalQuarter { year, quarter }
            }
            (Some(_), Some(_), None) if form == FilingType::TenQ => {
                return Err(ApiError::invalid(
                    "fiscal_quarter of a 10-Q is 1, 2 or 3 (the fourth quarter is reported in the 10-K)",
                ))
            }
            (Some(_), Some(_), None) => return Err(ApiError::invalid("fiscal_quarter is for 10-Q requests")),
            (None, None, Some(a)) => FilingSelector::Accession(AccessionNumber::parse(&a).map_err(bad)?),
            (None, Some(_), _) => return Err(ApiError::invalid("fiscal_quarter goes with fiscal_year")),
            _ => return Err(ApiError::invalid("give exactly one of fiscal_year or accession")),
        };
        let kind = AnalysisKind::parse(&self.kind).map_err(bad)?;
        Ok((
            FilingSpec {
                company,
                form,
                selector,
            },
            kind,
        ))
    }
}

/// A filing already in the store that matches a request.
struct KnownFiling {
    id: Uuid,
    accession: String,
    cik: String,
    ticker: Option<String>,
}

/// `POST /v1/analyses`.
pub async fn request(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody<AnalysisRequestBody>,
) -> Result<Response, ApiError> {
    api.request_analysis(&caller, body).await
}

/// `GET /v1/tasks/{id}`: the caller's own tasks only.
pub async fn task(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("you have no task {raw_id}"));
    let id = Uuid::parse_str(&raw_id).map_err(|_| unknown())?;
    let client = api.pool.get().await?;
    let row = client
        .query_opt(
            &format!("{TASK_SELECT} WHERE t.id = $1 AND t.user_id = $2"),
            &[&id, &caller.user_id],
        )
        .await?
        .ok_or_else(unknown)?;
    Ok(json(StatusCode::OK, &task_json(&row)))
}

/// `GET /v1/tasks?status=&limit=&cursor=`: the caller's tasks, newest first.
pub async fn tasks(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["status", "limit", "cursor"])?;
    let status = query.first("status").map(TaskStatus::parse).transpose()?;
    let limit = listing::limit(&query)?;
    let after = listing::cursor(&query, time_and_id)?;
    let params: Vec<Param> = vec![
        Box::new(caller.user_id.clone()),
        Box::new(status.map(|s| s.as_str())),
        Box::new(after.map(|a| a.0)),
        Box::new(after.map(|a| a.1)),
    ];
    Listing {
        sql: format!(
            "{TASK_SELECT} WHERE t.user_id = $1 AND ($2::text IS NULL OR t.status = $2)
               AND ($3::timestamptz IS NULL OR (t.created_at, t.id) < ($3, $4::uuid))
             ORDER BY t.created_at DESC, t.id DESC LIMIT $5"
        ),
        params,
        item: |r| Ok(task_json(r)),
        key: |r| {
            let at: DateTime<Utc> = r.try_get(9)?;
            Ok(json!([at.timestamp_micros(), r.try_get::<_, Uuid>(0)?]))
        },
        columns: TASK_COLUMNS,
        file_name: "tasks.csv",
    }
    .respond(&api, Format::of(&headers), limit)
    .await
}

/// The cursor key of lists by (time, id): microseconds since the epoch and a UUID.
pub(crate) fn time_and_id(key: &[Value]) -> Option<(DateTime<Utc>, Uuid)> {
    let at = DateTime::from_timestamp_micros(key.first()?.as_i64()?)?;
    Some((at, Uuid::parse_str(key.get(1)?.as_str()?).ok()?))
}

const TASK_COLUMNS: &[&str] = &[
    "id",
    "status",
    "kind",
    "filing",
    "quoted",
    "charged",
    "filing_id",
    "analysis_id",
    "failure_reason",
    "created_at",
    "updated_at",
    "finished_at",
];

/// `DELETE /v1/tasks/{id}`: cancels the caller's task while it is queued, freeing its
/// slot and the credits it held; 409 once its filing is being fetched.
pub async fn cancel_task(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("you have no task {raw_id}"));
    let id = Uuid::parse_str(&raw_id).map_err(|_| unknown())?;
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    // Beside acceptance and charges, which count the same holds.
    ledger::lock_account(&tx, &caller.user_id).await?;
    match lifecycle::cancel(&tx, &caller.user_id, id).await? {
        lifecycle::Cancelled::Now => {}
        lifecycle::Cancelled::Unknown => return Err(unknown()),
        lifecycle::Cancelled::TooLate(status) => {
            return Err(ApiError::Conflict(format!(
                "task {id} is {} and can no longer be cancelled (only a queued task can)",
                status.as_str()
            )))
        }
    }
    let row = tx.query_one(&format!("{TASK_SELECT} WHERE t.id = $1"), &[&id]).await?;
    tx.commit().await?;
    tracing::info!(task_id = %id, "task cancelled by its user");
    Ok(json(StatusCode::OK, &task_json(&row)))
}

/// `GET /v1/analyses?kind=&limit=&cursor=`: the completed analyses the caller may read
/// (of filings they have access to), newest first, without their bodies.
pub async fn analyses(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["kind", "limit", "cursor"])?;
    let kind = query.first("kind").map(AnalysisKind::parse).transpose()?;
    let limit = listing::limit(&query)?;
    let after = listing::cursor(&query, time_and_id)?;
    let params: Vec<Param> = vec![
        Box::new(caller.user_id.clone()),
        Box::new(lifecycle::PoolStatus::Completed.as_str()),
        Box::new(kind.map(|k| k.as_str())),
        Box::new(after.map(|a| a.0)),
        Box::new(after.map(|a| a.1)),
    ];
    Listing::jsonb(
        "SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'model', a.model, 'prompt_version', a.prompt_version,
                'extractive', a.extractive, 'completed_at', a.completed_at,
                'filing', jsonb_build_object('id', f.id, 'accession', f.accession, 'cik', f.cik,
                    'company', f.company_name, 'ticker', f.ticker, 'form', f.form, 'filing_date', f.filing_date,
                    'report_date', f.report_date),
                'links', jsonb_build_object('self', '/v1/analyses/' || a.id)),
            jsonb_build_array((extract(epoch FROM a.completed_at) * 1000000)::bigint, a.id)
         FROM analyses a
         JOIN filing_access fa ON fa.filing_id = a.filing_id AND fa.user_id = $1
         JOIN filings f ON f.id = a.filing_id
         WHERE a.status = $2 AND ($3::text IS NULL OR a.kind = $3)
           AND ($4::timestamptz IS NULL OR (a.completed_at, a.id) < ($4, $5::uuid))
         ORDER BY a.completed_at DESC, a.id DESC LIMIT $6"
            .to_owned(),
        params,
        ANALYSIS_COLUMNS,
        "analyses.csv",
    )
    .respond(&api, Format::of(&headers), limit)
    .await
}

const ANALYSIS_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "model",
    "prompt_version",
    "extractive",
    "completed_at",
    "filing",
];

/// `GET /v1/analyses/{id}`: only analyses of filings the caller has access to.
pub async fn analysis(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("no analysis {raw_id} that you may read"));
    let id = Uuid::parse_str(&raw_id).map_err(|_| unknown())?;
    let client = api.pool.get().await?;
    client
        .query_opt(
            "SELECT 1 FROM analyses a JOIN filing_access fa ON fa.filing_id = a.filing_id AND fa.user_id = $2
             WHERE a.id = $1 AND a.status = $3",
            &[&id, &caller.user_id, &lifecycle::PoolStatus::Completed.as_str()],
        )
        .await?
        .ok_or_else(unknown)?;
    drop(client);
    Ok(json(StatusCode::OK, &api.analysis_json(id, true).await?))
}

/// `GET /v1/filings?ticker=|cik=`: filings in the store, and whether the caller has access.
pub async fn filings(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["ticker", "cik"])?;
    api.filings(&caller, query.first("ticker"), query.first("cik")).await
}

impl ApiState {
    async fn request_analysis(&self, caller: &Principal, body: AnalysisRequestBody) -> Result<Response, ApiError> {
        let (spec, kind) = body.parse()?;
        let policy = caller.tier.policy();
        // The calendar (which fiscal years a tier covers) is the clock's; the request
        // windows are the database's time, like the rows they count.
        let today = self.clock.today();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One request of a user at a time: limits, concurrency and credits are checked
        // and taken atomically.
        ledger::lock_account(&tx, &caller.user_id).await?;
        // A task whose message ended in a dead-letter queue would hold a slot and its
        // credits forever: one untouched for longer than its queues retry has ended.
        let expired = lifecycle::expire_stale(&tx, &caller.user_id, STALE_TASK_AFTER).await?;
        if expired > 0 {
            tracing::warn!(expired, "stale tasks given up");
        }

        let known = find_filing(&tx, &spec).await?;
        let in_sp500 = if policy.sp500_only {
            Some(in_sp500(&tx, &spec, known.as_ref()).await?)
        } else {
            None
        };

        // 1. Already in the pool: answer at once (only the filing access fee, once).
        if let Some(filing) = &known {
            let key = PoolKey::new(filing.id, kind, self.analyses.model.clone());
            if let Some(analysis_id) = lifecycle::pooled(&tx, &key).await? {
                data_access(&policy, &spec, in_sp500, today).map_err(ApiError::Forbidden)?;
                let fee = policy.filing_access_fee;
                let description = format!("access to filing {}", filing.accession);
                let charged =
                    match ledger::grant_filing_access(&tx, &caller.user_id, filing.id, fee, None, description).await? {
                        ChargeOutcome::Insufficient { balance } => {
                            return Err(ApiError::InsufficientCredits(format!(
                                "access to this filing costs {fee}; your balance is {balance}"
                            )))
                        }
                        ChargeOutcome::Charged { .. } => fee,
                        ChargeOutcome::AlreadyCharged => Money::ZERO,
                    };
                lifecycle::count_access(&tx, analysis_id).await?;
                tx.commit().await?;
                // A request holds one connection of the pool at a time (two at once can
                // deadlock a busy pool).
                drop(client);
                let analysis = self.analysis_json(analysis_id, true).await?;
                // Every answer that charges says how much: here the filing access fee, the
                // first time this user reads the filing (nothing after that).
                return Ok(json(
                    StatusCode::OK,
                    &json!({ "source": "pool", "charged": charged.view(), "analysis": analysis }),
                ));
            }
        }

        // 2. The same request is already under way: the same task.
        if let Some(task_id) = lifecycle::active_for(&tx, &caller.user_id, &spec, kind).await? {
            let row = tx
                .query_one(&format!("{TASK_SELECT} WHERE t.id = $1"), &[&task_id])
                .await?;
            tx.commit().await?;
            return Ok(accepted(task_json(&row)));
        }

        // 3. Data access, concurrency, credits — in that order (the request itself was
        // counted against the tier's allowance when the caller was admitted).
        data_access(&policy, &spec, in_sp500, today).map_err(ApiError::Forbidden)?;
        // Demo is served from the pre-cached set only (the demo-prefill schedule keeps it):
        // a filing not stored is refused here, before anything is held or queued, and no
        // EDGAR request is ever made for it.
        if policy.cached_filings_only && !in_cached_set(&spec, known.is_some()) {
            return Err(ApiError::Forbidden(policy.outside_cached_set(&spec.key(), today)));
        }
        let holds = lifecycle::holds(&tx, &caller.user_id).await?;
        let (active_count, reserved) = (holds.active, holds.held.micros());
        if let Some(limit) = policy.concurrent_analyses {
            if active_count >= i64::from(limit) {
                return Err(ApiError::RateLimited {
                    message: format!(
                        "your tier runs {limit} analyses at a time and {active_count} are under way; \
                         try again when one finishes"
                    ),
                    retry_after_secs: 30,
                });
            }
        }
        let has_access = match &known {
            Some(f) => tx
                .query_opt(
                    "SELECT 1 FROM filing_access WHERE user_id = $1 AND filing_id = $2",
                    &[&caller.user_id, &f.id],
                )
                .await?
                .is_some(),
            None => false,
        };
        let fees = quote(&policy, has_access);
        let quoted = fees.total();
        let balance: i64 = tx
            .query_one(
                "SELECT credit_balance_micros FROM user_accounts WHERE user_id = $1",
                &[&caller.user_id],
            )
            .await?
            .get(0);
        let available = Money::from_micros(balance - reserved);
        if available < quoted {
            return Err(ApiError::InsufficientCredits(format!(
                "this analysis may cost {quoted}; your available balance is {available} \
                 ({} held by analyses under way)",
                Money::from_micros(reserved)
            )));
        }

        // 4. Accept: the task, the request count and the queued message, in one transaction.
        let task_id = Uuid::new_v4();
        let task = NewTask {
            id: task_id,
            user_id: &caller.user_id,
            spec: &spec,
            kind,
            fees,
            filing_id: known.as_ref().map(|f| f.id),
        };
        lifecycle::accept(&tx, &task).await?;
        let envelope = Envelope::new(
            Producer::HttpApi,
            CorrelationId::parse(&format!("task-{task_id}")).unwrap_or_default(),
            Payload::FilingRequested(FilingRequested {
                task_id,
                user_id: caller.user_id.clone(),
                tier: caller.tier,
                spec,
                kind,
            }),
        );
        EventPublisher::stage(
            &tx,
            &Destination::FifoQueue(self.analyses.filings_queue_url.clone()),
            &envelope,
        )
        .await?;
        let row = tx
            .query_one(&format!("{TASK_SELECT} WHERE t.id = $1"), &[&task_id])
            .await?;
        tx.commit().await?;
        drop(client);
        self.flush_outbox().await;
        tracing::info!(%task_id, kind = kind.as_str(), quoted = quoted.micros(), "analysis task accepted");
        Ok(accepted(task_json(&row)))
    }

    async fn filings(&self, caller: &Principal, ticker: Option<&str>, cik: Option<&str>) -> Result<Response, ApiError> {
        let bad = |e: sluice_messages::InvalidValue| ApiError::invalid(e.to_string());
        let (ticker, cik) = match (ticker, cik) {
            (Some(t), None) => (Some(Ticker::parse(t).map_err(bad)?), None),
            (None, Some(c)) => (None, Some(Cik::parse(c).map_err(bad)?)),
            _ => return Err(ApiError::invalid("give exactly one of ticker or cik")),
        };
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT f.id, f.accession, f.cik, f.company_name, f.ticker, f.form, f.filing_date, f.report_date,
                        f.fiscal_year, f.section_status, fa.user_id IS NOT NULL
                 FROM filings f
                 LEFT JOIN filing_access fa ON fa.filing_id = f.id AND fa.user_id = $3
                 WHERE ($1::text IS NOT NULL AND (f.ticker = $1 OR f.cik IN (SELECT cik FROM edgar_companies WHERE ticker = $1)))
                    OR ($2::text IS NOT NULL AND f.cik = $2)
                 ORDER BY f.filing_date DESC LIMIT 200",
                &[
                    &ticker.as_ref().map(Ticker::as_str),
                    &cik.as_ref().map(Cik::as_str),
                    &caller.user_id,
                ],
            )
            .await
            ?;
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.get::<_, Uuid>(0),
                    "accession": r.get::<_, String>(1),
                    "cik": r.get::<_, String>(2),
                    "company": r.get::<_, String>(3),
                    "ticker": r.get::<_, Option<String>>(4),
                    "form": r.get::<_, String>(5),
                    "filing_date": r.get::<_, NaiveDate>(6),
                    "report_date": r.get::<_, Option<NaiveDate>>(7),
                    "fiscal_year": r.get::<_, Option<i32>>(8),
                    "sections": r.get::<_, Value>(9),
                    "accessible": r.get::<_, bool>(10),
                })
            })
            .collect();
        Ok(json(StatusCode::OK, &json!({ "items": items })))
    }

    /// An analysis as the API shows it, with its body from S3 when asked.
    async fn analysis_json(&self, id: Uuid, with_body: bool) -> Result<Value, ApiError> {
        let client = self.pool.get().await?;
        let r = client
            .query_opt(
                "SELECT a.id, a.kind, a.model, a.prompt_version, a.status, a.body_key, a.input_tokens,
                        a.output_tokens, a.cost_micros, a.latency_ms, a.extractive, a.sections_used, a.completed_at,
                        f.id, f.accession, f.cik, f.company_name, f.ticker, f.form, f.filing_date, f.report_date
                 FROM analyses a JOIN filings f ON f.id = a.filing_id WHERE a.id = $1",
                &[&id],
            )
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no analysis {id}")))?;
        let body_key: Option<String> = r.get(5);
        let body = match (&body_key, with_body) {
            (Some(key), true) => Some(self.body(key).await?),
            _ => None,
        };
        Ok(json!({
            "id": r.get::<_, Uuid>(0),
            "kind": r.get::<_, String>(1),
            "model": r.get::<_, String>(2),
            "prompt_version": r.get::<_, i32>(3),
            "status": r.get::<_, String>(4),
            "extractive": r.get::<_, Option<bool>>(10),
            "sections_used": r.get::<_, Option<Vec<String>>>(11),
            "usage": {
                "input_tokens": r.get::<_, Option<i64>>(6),
                "output_tokens": r.get::<_, Option<i64>>(7),
                "cost": r.get::<_, Option<i64>>(8).map(|m| Money::from_micros(m).view()),
                "latency_ms": r.get::<_, Option<i64>>(9),
            },
            "completed_at": r.get::<_, Option<DateTime<Utc>>>(12),
            "filing": {
                "id": r.get::<_, Uuid>(13),
                "accession": r.get::<_, String>(14),
                "cik": r.get::<_, String>(15),
                "company": r.get::<_, String>(16),
                "ticker": r.get::<_, Option<String>>(17),
                "form": r.get::<_, String>(18),
                "filing_date": r.get::<_, NaiveDate>(19),
                "report_date": r.get::<_, Option<NaiveDate>>(20),
            },
            "body": body,
            "links": { "self": format!("/v1/analyses/{}", r.get::<_, Uuid>(0)) },
        }))
    }

    async fn body(&self, key: &str) -> Result<Value, ApiError> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.analyses.document_bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        let bytes = object.body.collect().await.map_err(ApiError::internal)?.into_bytes();
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// Usage against the tier's limits, for `GET /v1/me` (on the caller's connection: a
/// request never holds two connections of the pool at once).
pub async fn usage(
    client: &deadpool_postgres::Client,
    caller: &Principal,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let holds = lifecycle::holds(client, &caller.user_id).await?;
    let (this_hour, today) = sluice_web::rate_limit::counted(client, &caller.user_id, now).await?;
    let r = client
        .query_one(
            "SELECT coalesce(-sum(amount_micros), 0)::bigint FROM usage_transactions
             WHERE user_id = $1 AND created_at > now() - interval '30 days'",
            &[&caller.user_id],
        )
        .await?;
    Ok(json!({
        // Requests counted against the tier's allowance (fixed UTC windows, this one included).
        "requests_this_hour": this_hour,
        "requests_today": today,
        "active_analyses": holds.active,
        "held": holds.held.view(),
        "spent_last_30_days": Money::from_micros(r.get::<_, i64>(0)).view(),
    }))
}

/// Longer than any task's queues keep retrying it (the analysis queue: 5 receives of a
/// 1-hour visibility timeout).
const STALE_TASK_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

const TASK_SELECT: &str = "SELECT t.id, t.status, t.kind, t.spec, t.quoted_micros, t.charged_micros, t.filing_id,
    t.analysis_id, t.failure_reason, t.created_at, t.updated_at, t.finished_at FROM tasks t";

fn task_json(r: &tokio_postgres::Row) -> Value {
    let id: Uuid = r.get(0);
    let analysis_id: Option<Uuid> = r.get(7);
    json!({
        "id": id,
        "status": r.get::<_, String>(1),
        "kind": r.get::<_, String>(2),
        "filing": r.get::<_, Value>(3),
        // What the task may charge (held while it runs), and what it charged when it ended.
        "quoted": Money::from_micros(r.get::<_, i64>(4)).view(),
        "charged": r.get::<_, Option<i64>>(5).map(|m| Money::from_micros(m).view()),
        "filing_id": r.get::<_, Option<Uuid>>(6),
        "analysis_id": analysis_id,
        "failure_reason": r.get::<_, Option<String>>(8),
        "created_at": r.get::<_, DateTime<Utc>>(9),
        "updated_at": r.get::<_, DateTime<Utc>>(10),
        "finished_at": r.get::<_, Option<DateTime<Utc>>>(11),
        "links": {
            "self": format!("/v1/tasks/{id}"),
            "events": "/v1/events/stream",
            "analysis": analysis_id.map(|a| format!("/v1/analyses/{a}")),
        },
    })
}

fn accepted(task: Value) -> Response {
    let mut response = json(StatusCode::ACCEPTED, &json!({ "task": task }));
    if let Some(location) = task["links"]["self"]
        .as_str()
        .and_then(|l| http::HeaderValue::from_str(l).ok())
    {
        response.headers_mut().insert(http::header::LOCATION, location);
    }
    response
}

/// The stored filing a request names, when it has been fetched before. A ticker is
/// matched through EDGAR's directory (the fetcher's cache) or the ticker universe (whose
/// CIKs the demo prefill stores its filings under).
async fn find_filing(
    tx: &deadpool_postgres::Transaction<'_>,
    spec: &FilingSpec,
) -> Result<Option<KnownFiling>, ApiError> {
    let cols = "SELECT id, accession, cik, ticker FROM filings";
    let row = match (&spec.selector, &spec.company) {
        (FilingSelector::Accession(a), _) => {
            tx.query_opt(
                &format!("{cols} WHERE accession = $1 AND form = $2"),
                &[&a.as_str(), &spec.form.as_str()],
            )
            .await
        }
        (FilingSelector::FiscalYear(_) | FilingSelector::FiscalQuarter { .. }, company) => {
            let (ticker, cik) = match company {
                CompanyRef::Ticker(t) => (Some(t.as_str()), None),
                CompanyRef::Cik(c) => (None, Some(c.as_str())),
            };
            let quarter = match &spec.selector {
                FilingSelector::FiscalQuarter { quarter, .. } => Some(i16::from(*quarter)),
                _ => None,
            };
            tx.query_opt(
                &format!(
                    "{cols} WHERE form = $1 AND fiscal_year = $2
                       AND (cik = $3 OR cik IN (SELECT cik FROM edgar_companies WHERE ticker = $4)
                            OR cik IN (SELECT cik FROM tickers WHERE ticker = $4))
                       AND ($5::smallint IS NULL OR fiscal_quarter = $5)
                     ORDER BY filing_date DESC LIMIT 1"
                ),
                &[&spec.form.as_str(), &spec.selector.year(), &cik, &ticker, &quarter],
            )
            .await
        }
    }?;
    Ok(row.map(|r| KnownFiling {
        id: r.get(0),
        accession: r.get(1),
        cik: r.get(2),
        ticker: r.get(3),
    }))
}

/// Is the company in the S&P 500 (the `tickers` universe)?
async fn in_sp500(
    tx: &deadpool_postgres::Transaction<'_>,
    spec: &FilingSpec,
    known: Option<&KnownFiling>,
) -> Result<bool, ApiError> {
    let (ticker, cik) = match (&spec.company, known) {
        (_, Some(f)) => (f.ticker.clone(), Some(f.cik.clone())),
        (CompanyRef::Ticker(t), None) => (Some(t.to_string()), None),
        (CompanyRef::Cik(c), None) => (None, Some(c.to_string())),
    };
    let row = tx
        .query_opt(
            "SELECT 1 FROM tickers WHERE (ticker = $1 OR cik = $2) AND 'SP500' = ANY(index_membership)",
            &[&ticker, &cik],
        )
        .await?;
    Ok(row.is_some())
}

/// The tier's data access: fiscal years from [`TierPolicy::earliest_fiscal_year`] on,
/// and S&P 500 only for demo. An accession number is judged by the year it was
/// assigned; the fetcher checks the filing's real report date again.
pub fn data_access(
    policy: &TierPolicy,
    spec: &FilingSpec,
    in_sp500: Option<bool>,
    today: NaiveDate,
) -> Result<(), String> {
    if policy.sp500_only && in_sp500 == Some(false) {
        return Err(format!(
            "your tier covers S&P 500 companies only, and {} is not one",
            spec.company
        ));
    }
    if let Some(years) = policy.history_years {
        let year = spec.selector.year();
        if let Some(earliest) = policy.earliest_fiscal_year(today) {
            if year < earliest {
                return Err(format!(
                    "your tier covers the last {years} years of filings (fiscal {earliest} on); this one is from {year}"
                ));
            }
        }
    }
    Ok(())
}

/// Whether a request names a filing of the demo set: a 10-K or 10-Q already stored (the
/// years and companies are [`data_access`]'s).
pub fn in_cached_set(spec: &FilingSpec, stored: bool) -> bool {
    stored && matches!(spec.form, FilingType::TenK | FilingType::TenQ)
}

/// What a new task may charge: the filing access fee unless the user has access,
/// plus the analysis fee (charged only if a model call is made for this task).
pub fn quote(policy: &TierPolicy, has_access: bool) -> QuotedFees {
    QuotedFees {
        filing_access: if has_access {
            Money::ZERO
        } else {
            policy.filing_access_fee
        },
        analysis: policy.analysis_fee,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_messages::UserTier;

    fn spec(selector: FilingSelector) -> FilingSpec {
        FilingSpec {
            company: CompanyRef::Ticker(Ticker::parse("AAPL").unwrap()),
            form: FilingType::TenK,
            selector,
        }
    }

    #[test]
    fn bodies_name_one_company_and_one_filing() {
        let body = |v: Value| serde_json::from_value::<AnalysisRequestBody>(v).unwrap().parse();
        let (spec, kind) =
            body(json!({"ticker": "aapl", "form": "10-k", "fiscal_year": 2024, "kind": "mdna"})).unwrap();
        assert_eq!(spec.key(), "AAPL:10-K:FY2024");
        assert_eq!(kind, AnalysisKind::Mdna);
        let (spec, _) =
            body(json!({"cik": "320193", "form": "10-Q", "accession": "000032019325000073", "kind": "summary"}))
                .unwrap();
        assert_eq!(spec.key(), "CIK0000320193:10-Q:0000320193-25-000073");
        let (spec, _) =
            body(json!({"ticker": "AAPL", "form": "10-Q", "fiscal_year": 2025, "fiscal_quarter": 1, "kind": "mdna"}))
                .unwrap();
        assert_eq!(spec.key(), "AAPL:10-Q:FY2025Q1");
        for bad in [
            json!({"ticker": "AAPL", "cik": "320193", "form": "10-K", "fiscal_year": 2024, "kind": "mdna"}),
            json!({"form": "10-K", "fiscal_year": 2024, "kind": "mdna"}),
            json!({"ticker": "AAPL", "form": "10-K", "kind": "mdna"}),
            json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 24, "kind": "mdna"}),
            json!({"ticker": "AAPL", "form": "10-X", "fiscal_year": 2024, "kind": "mdna"}),
            json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2024, "kind": "poem"}),
            json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2024, "fiscal_quarter": 2, "kind": "mdna"}),
            json!({"ticker": "AAPL", "form": "10-Q", "fiscal_year": 2024, "fiscal_quarter": 4, "kind": "mdna"}),
            json!({"ticker": "AAPL", "form": "10-Q", "fiscal_quarter": 2, "kind": "mdna"}),
            json!({"ticker": "TOOLONGX", "form": "10-K", "fiscal_year": 2024, "kind": "mdna"}),
        ] {
            assert!(matches!(body(bad.clone()), Err(ApiError::InvalidRequest(_))), "{bad}");
        }
    }

    #[test]
    fn data_access_by_tier() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let demo = UserTier::Demo.policy();
        assert!(data_access(&demo, &spec(FilingSelector::FiscalYear(2024)), Some(true), today).is_ok());
        let old = data_access(&demo, &spec(FilingSelector::FiscalYear(2023)), Some(true), today).unwrap_err();
        assert!(old.contains("last 2 years"), "{old}");
        let not_sp = data_access(&demo, &spec(FilingSelector::FiscalYear(2025)), Some(false), today).unwrap_err();
        assert!(not_sp.contains("S&P 500"), "{not_sp}");
        let basic = UserTier::Basic.policy();
        assert!(data_access(&basic, &spec(FilingSelector::FiscalYear(2021)), None, today).is_ok());
        assert!(data_access(&basic, &spec(FilingSelector::FiscalYear(2020)), None, today).is_err());
        let by_accession = spec(FilingSelector::Accession(
            AccessionNumber::parse("0000320193-15-000123").unwrap(),
        ));
        assert!(data_access(&UserTier::Professional.policy(), &by_accession, None, today).is_err());
        assert!(data_access(&UserTier::Enterprise.policy(), &by_accession, None, today).is_ok());
    }

    #[test]
    fn demo_is_served_stored_10ks_and_10qs_only_and_says_which_tier_lifts_that() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let tenk = spec(FilingSelector::FiscalYear(2025));
        assert!(in_cached_set(&tenk, true));
        assert!(!in_cached_set(&tenk, false));
        let eight_k = FilingSpec {
            form: FilingType::EightK,
            ..tenk.clone()
        };
        assert!(!in_cached_set(&eight_k, true));
        let why = UserTier::Demo.policy().outside_cached_set(&tenk.key(), today);
        for words in [
            "pre-cached S&P 500",
            "last two years",
            "fiscal 2024 on",
            "AAPL:10-K:FY2025",
            "basic tier",
        ] {
            assert!(why.contains(words), "{why}");
        }
        assert!(UserTier::Demo.policy().cached_filings_only);
        assert!(!UserTier::Basic.policy().cached_filings_only);
    }

    #[test]
    fn quotes_follow_the_tier_prices() {
        assert_eq!(
            quote(&UserTier::Demo.policy(), false).total(),
            Money::from_micros(20_000)
        );
        assert_eq!(
            quote(&UserTier::Basic.policy(), false).total(),
            Money::from_micros(120_000)
        );
        assert_eq!(
            quote(&UserTier::Basic.policy(), true).total(),
            Money::from_micros(20_000)
        );
        assert_eq!(
            quote(&UserTier::Professional.policy(), false).total(),
            Money::from_micros(65_000)
        );
        assert_eq!(quote(&UserTier::Enterprise.policy(), false).total(), Money::ZERO);
    }
}
