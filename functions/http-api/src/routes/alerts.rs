//! The KPI tracker's alerts and rules (team members): `GET /v1/alerts`, `GET/POST
//! /v1/alert-rules`, `PATCH/DELETE /v1/alert-rules/{id}`. Rules are validated by
//! [`sluice_portfolio::rules`]; a rule naming an indicator no KPI has is refused.

use super::listing::{self, Format, Listing, Param};
use crate::caller::Team;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use sluice_messages::AlertSeverity;
use sluice_portfolio::rules::{RuleBody, RuleError, RuleFields};
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::sync::Arc;

const ALERT_COLUMNS: &[&str] = &[
    "id",
    "rule_id",
    "data_version_id",
    "company",
    "fund",
    "indicator",
    "period",
    "severity",
    "condition",
    "threshold",
    "value",
    "reference",
    "change_pct",
    "message",
    "created_at",
];

/// `GET /v1/alerts?company=&indicator=&severity=&data_version=&limit=&cursor=`: newest first.
pub async fn list(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["company", "indicator", "severity", "data_version", "limit", "cursor"])?;
    let severity = query.first("severity").map(AlertSeverity::parse).transpose()?;
    let data_version = query.parsed::<i64>("data_version", "a load's id (a number)")?;
    let limit = listing::limit(&query)?;
    let before = listing::cursor(&query, |k| k.first()?.as_i64())?;
    let params: Vec<Param> = vec![
        Box::new(query.first("company").map(|c| c.trim().to_owned())),
        Box::new(query.first("indicator").map(|i| i.trim().to_lowercase())),
        Box::new(severity.map(|s| s.as_str())),
        Box::new(data_version),
        Box::new(before),
    ];
    Listing::jsonb(
        "SELECT jsonb_build_object('id', alert_id, 'rule_id', rule_id, 'data_version_id', data_version_id,
                'company', empresa, 'fund', fondo, 'indicator', indicador, 'period', fecha, 'severity', severity,
                'condition', condition, 'threshold', threshold::text, 'value', value::text,
                'reference', reference::text, 'change_pct', change_pct::text, 'message', message,
                'created_at', created_at),
            jsonb_build_array(alert_id)
         FROM kpi_alerts
         WHERE ($1::text IS NULL OR empresa = $1) AND ($2::text IS NULL OR lower(indicador) = $2)
           AND ($3::text IS NULL OR severity = $3) AND ($4::bigint IS NULL OR data_version_id = $4)
           AND ($5::bigint IS NULL OR alert_id < $5)
         ORDER BY alert_id DESC LIMIT $6"
            .to_owned(),
        params,
        ALERT_COLUMNS,
        "kpi-alerts.csv",
    )
    .respond(&api, Format::of(&headers), limit)
    .await
}

const RULE_JSON: &str = "jsonb_build_object('id', rule_id, 'indicator', indicator, 'condition', condition,
    'threshold', threshold::text, 'severity', severity, 'enabled', enabled, 'updated_by', updated_by,
    'updated_at', updated_at)";

/// `GET /v1/alert-rules`: every rule, by id.
pub async fn rules(State(api): State<Arc<ApiState>>, _team: Team, query: QueryParams) -> Result<Response, ApiError> {
    query.only(&[])?;
    let client = api.pool.get().await?;
    let rows = client
        .query(
            &format!("SELECT {RULE_JSON} FROM kpi_alert_rules ORDER BY rule_id"),
            &[],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| r.try_get::<_, Value>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(StatusCode::OK, &json!({ "items": items })))
}

fn refused(e: RuleError) -> ApiError {
    ApiError::invalid(e.to_string())
}

/// Refuses an indicator no KPI row has (any case): a rule for it could never fire.
async fn known_indicator(client: &deadpool_postgres::Client, fields: &RuleFields) -> Result<(), ApiError> {
    let Some(indicator) = &fields.indicator else {
        return Ok(());
    };
    let known = client
        .query_opt(
            "SELECT 1 FROM kpis WHERE lower(indicador) = lower($1) LIMIT 1",
            &[indicator],
        )
        .await?
        .is_some();
    if known {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "indicator: no KPI is called `{indicator}` (a rule for it could never fire)"
        )))
    }
}

/// `POST /v1/alert-rules` `{indicator, condition, threshold, severity, enabled?}`.
pub async fn create_rule(
    State(api): State<Arc<ApiState>>,
    Team(caller): Team,
    JsonBody(body): JsonBody<RuleBody>,
) -> Result<Response, ApiError> {
    let fields = body.validate(true).map_err(refused)?;
    let client = api.pool.get().await?;
    known_indicator(&client, &fields).await?;
    let row = client
        .query_one(
            &format!(
                "INSERT INTO kpi_alert_rules (indicator, condition, threshold, severity, enabled, updated_by)
                 VALUES ($1, $2, $3::text::numeric, $4, coalesce($5, true), $6)
                 RETURNING {RULE_JSON}"
            ),
            &[
                &fields.indicator,
                &fields.condition.map(|c| c.as_str()),
                &fields.threshold,
                &fields.severity.map(|s| s.as_str()),
                &fields.enabled,
                &caller.user_id,
            ],
        )
        .await?;
    let rule: Value = row.try_get(0)?;
    tracing::info!(rule = %rule, user = %caller.user_id, "alert rule created");
    Ok(json(StatusCode::CREATED, &rule))
}

fn rule_id(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::not_found(format!("no alert rule {raw}")))
}

/// `PATCH /v1/alert-rules/{id}`: any of the fields; the rule is checked whole again.
pub async fn update_rule(
    State(api): State<Arc<ApiState>>,
    Team(caller): Team,
    Path(raw_id): Path<String>,
    JsonBody(body): JsonBody<RuleBody>,
) -> Result<Response, ApiError> {
    let id = rule_id(&raw_id)?;
    let fields = body.validate(false).map_err(refused)?;
    let client = api.pool.get().await?;
    known_indicator(&client, &fields).await?;
    let row = client
        .query_opt(
            &format!(
                "UPDATE kpi_alert_rules SET indicator = coalesce($2, indicator), condition = coalesce($3, condition),
                     threshold = coalesce($4::text::numeric, threshold), severity = coalesce($5, severity),
                     enabled = coalesce($6, enabled), updated_by = $7, updated_at = now()
                 WHERE rule_id = $1
                 RETURNING {RULE_JSON}"
            ),
            &[
                &id,
                &fields.indicator,
                &fields.condition.map(|c| c.as_str()),
                &fields.threshold,
                &fields.severity.map(|s| s.as_str()),
                &fields.enabled,
                &caller.user_id,
            ],
        )
        .await
        .map_err(|e| {
            // A change that leaves a percentage rule with a negative threshold.
            if e.code() == Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION) {
                ApiError::invalid("threshold: a percentage threshold cannot be negative")
            } else {
                e.into()
            }
        })?
        .ok_or_else(|| ApiError::not_found(format!("no alert rule {raw_id}")))?;
    Ok(json(StatusCode::OK, &row.try_get::<_, Value>(0)?))
}

/// `DELETE /v1/alert-rules/{id}`: the rule goes; the alerts it raised stay.
pub async fn delete_rule(
    State(api): State<Arc<ApiState>>,
    Team(caller): Team,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = rule_id(&raw_id)?;
    let client = api.pool.get().await?;
    let deleted = client
        .execute("DELETE FROM kpi_alert_rules WHERE rule_id = $1", &[&id])
        .await?;
    if deleted == 0 {
        return Err(ApiError::not_found(format!("no alert rule {raw_id}")));
    }
    tracing::info!(rule_id = id, user = %caller.user_id, "alert rule deleted");
    Ok(json(StatusCode::OK, &json!({ "deleted": id })))
}
