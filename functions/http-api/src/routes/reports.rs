//! Portfolio reports on demand (team members): `POST /v1/reports` builds one
//! ([`sluice_portfolio::report`]: per company KPI trends, cash runway, budget attainment
//! and open alerts; per fund its companies), stores it as JSON in S3
//! (`portfolio-reports/<id>.json`) and records it; `GET /v1/reports/{id}` reads it back;
//! `GET /v1/reports` lists the team's reports (on demand and monthly), newest first.
//! The narrative is extractive and labelled so (no model is called).

use super::listing::{self, Format, Listing, Param};
use crate::caller::Team;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_portfolio::report::{build, gather, store, Record};
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::sync::Arc;
use uuid::Uuid;

/// The body of `POST /v1/reports`: one company (`empresa`, exactly), or all of them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub company: Option<String>,
}

/// `POST /v1/reports` `{company?}`: 201 with the report and its link.
pub async fn create(
    State(api): State<Arc<ApiState>>,
    Team(caller): Team,
    JsonBody(body): JsonBody<ReportRequest>,
) -> Result<Response, ApiError> {
    let company = match body.company.as_deref().map(str::trim) {
        Some("") => {
            return Err(ApiError::invalid(
                "company: must not be blank (leave it out for every company)",
            ))
        }
        other => other.map(str::to_owned),
    };
    let companies = {
        let client = api.pool.get().await?;
        gather(&client, company.as_deref()).await.map_err(ApiError::internal)?
    };
    if let Some(name) = &company {
        if companies.is_empty() {
            return Err(ApiError::invalid(format!(
                "company: no KPI of a company called `{name}` (the report is built from KPIs)"
            )));
        }
    }
    let id = Uuid::new_v4();
    let now = api.clock.now();
    let mut report = build(&companies);
    report["id"] = json!(id);
    report["generated_at"] = json!(now);
    report["requested_by"] = json!(caller.user_id);
    report["scope"] = json!({ "company": company });
    let count = companies.len();
    {
        let client = api.pool.get().await?;
        let record = Record {
            id,
            requested_by: &caller.user_id,
            company: company.as_deref(),
            companies: count,
            period: None,
            narration: "extractive",
            created_at: now,
        };
        store(&api.s3, &api.uploads.bucket, &client, &report, &record)
            .await
            .map_err(ApiError::internal)?;
    }
    tracing::info!(report = %id, companies = count, user = %caller.user_id, "portfolio report generated");
    report["links"] = json!({ "self": format!("/v1/reports/{id}") });
    Ok(json(StatusCode::CREATED, &report))
}

/// `GET /v1/reports/{id}`: a stored report, as it was generated.
pub async fn get(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("no report {raw_id}"));
    let id = Uuid::parse_str(raw_id.trim()).map_err(|_| unknown())?;
    let key: String = {
        let client = api.pool.get().await?;
        client
            .query_opt("SELECT s3_key FROM portfolio_reports WHERE report_id = $1", &[&id])
            .await?
            .ok_or_else(unknown)?
            .try_get(0)?
    };
    let object = api
        .s3
        .get_object()
        .bucket(&api.uploads.bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let bytes = object.body.collect().await.map_err(ApiError::internal)?.into_bytes();
    let mut report: Value = serde_json::from_slice(&bytes)?;
    report["links"] = json!({ "self": format!("/v1/reports/{id}") });
    Ok(json(StatusCode::OK, &report))
}

pub const KINDS: [&str; 2] = ["on_demand", "monthly"];
pub const SCOPES: [&str; 2] = ["company", "portfolio"];

const REPORT_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "scope",
    "company",
    "companies",
    "period",
    "narration",
    "requested_by",
    "created_at",
];

/// `month=YYYY-MM`: the month's first day (years as [`sluice_web::request::QUERY_DATE_YEARS`]).
pub fn month(query: &QueryParams) -> Result<Option<NaiveDate>, ApiError> {
    query
        .first("month")
        .map(|raw| {
            NaiveDate::parse_from_str(&format!("{}-01", raw.trim()), "%Y-%m-%d")
                .ok()
                .filter(|d| sluice_web::request::QUERY_DATE_YEARS.contains(&d.year()) && raw.trim().len() == 7)
                .ok_or_else(|| ApiError::invalid("month must be a month like 2026-11"))
        })
        .transpose()
}

/// The keyset cursor of the report list: (generated at, id), newest first.
fn report_cursor(key: &[Value]) -> Option<(DateTime<Utc>, Uuid)> {
    let at = DateTime::parse_from_rfc3339(key.first()?.as_str()?)
        .ok()?
        .with_timezone(&Utc);
    let id = Uuid::parse_str(key.get(1)?.as_str()?).ok()?;
    Some((at, id))
}

/// `GET /v1/reports?company=&scope=&kind=&month=&from=&to=&limit=&cursor=`: the team's
/// reports, newest first. `company` is a company's own reports (exactly as the KPIs name
/// it); `scope` `company` (about one company) or `portfolio` (every company); `kind`
/// `on_demand` or `monthly`; `month` (YYYY-MM) the monthly reports for that month and
/// those made on demand during it; `from`/`to` (dates, UTC) when they were generated.
pub async fn list(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["company", "scope", "kind", "month", "from", "to", "limit", "cursor"])?;
    let kind = listing::one_of("kind", query.first("kind"), &KINDS)?;
    let scope = listing::one_of("scope", query.first("scope"), &SCOPES)?;
    let company = query.first("company").map(|c| c.trim().to_owned());
    if company.is_some() && scope == Some("portfolio") {
        return Err(ApiError::invalid(
            "scope: a portfolio report is about every company; leave out company or scope",
        ));
    }
    let month = month(&query)?;
    let (from, to) = super::portfolio::date_range(&query)?;
    if month.is_some() && (from.is_some() || to.is_some()) {
        return Err(ApiError::invalid("month: give month or from/to, not both"));
    }
    let limit = listing::limit(&query)?;
    let before = listing::cursor(&query, report_cursor)?;
    let params: Vec<Param> = vec![
        Box::new(company),
        Box::new(scope),
        Box::new(kind),
        Box::new(month),
        Box::new(from),
        Box::new(to),
        Box::new(before.map(|b| b.0)),
        Box::new(before.map(|b| b.1)),
    ];
    Listing::jsonb(
        "SELECT jsonb_build_object('id', report_id,
                'kind', CASE WHEN period IS NULL THEN 'on_demand' ELSE 'monthly' END,
                'scope', CASE WHEN company IS NULL THEN 'portfolio' ELSE 'company' END,
                'company', company, 'companies', companies, 'period', to_char(period, 'YYYY-MM'),
                'narration', narration, 'requested_by', requested_by, 'created_at', created_at,
                'links', jsonb_build_object('self', '/v1/reports/' || report_id)),
            jsonb_build_array(to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), report_id)
         FROM portfolio_reports
         WHERE ($1::text IS NULL OR company = $1)
           AND ($2::text IS NULL OR ($2 = 'portfolio') = (company IS NULL))
           AND ($3::text IS NULL OR ($3 = 'monthly') = (period IS NOT NULL))
           AND ($4::date IS NULL OR period = $4 OR (period IS NULL
                AND created_at >= ($4::date)::timestamp AT TIME ZONE 'UTC'
                AND created_at < ($4::date + interval '1 month') AT TIME ZONE 'UTC'))
           AND ($5::date IS NULL OR created_at >= ($5::date)::timestamp AT TIME ZONE 'UTC')
           AND ($6::date IS NULL OR created_at < ($6::date + 1)::timestamp AT TIME ZONE 'UTC')
           AND ($7::timestamptz IS NULL OR (created_at, report_id) < ($7, $8::uuid))
         ORDER BY created_at DESC, report_id DESC LIMIT $9"
            .to_owned(),
        params,
        REPORT_COLUMNS,
        "portfolio-reports.csv",
    )
    .respond(&api, Format::of(&headers), limit)
    .await
}
