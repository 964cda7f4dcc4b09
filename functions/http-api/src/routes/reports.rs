//! Portfolio reports on demand (team members): `POST /v1/reports` builds one
//! ([`sluice_portfolio::report`]: per company KPI trends, cash runway, budget attainment
//! and open alerts; per fund its companies), stores it as JSON in S3
//! (`portfolio-reports/<id>.json`) and records it; `GET /v1/reports/{id}` reads it back.
//! The narrative is extractive and labelled so (no model is called).

use crate::caller::Team;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_portfolio::report::{build, gather, store, Record};
use sluice_web::{json, ApiError, JsonBody};
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
    let mut report = build(&companies);
    report["id"] = json!(id);
    report["generated_at"] = json!(api.clock.now());
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
