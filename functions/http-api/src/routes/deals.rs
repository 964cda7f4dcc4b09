//! The deal-flow scorer through the API (team members): `GET /v1/dealflow/{id}` (a deal
//! with each factor of its score: value, weight, contribution, reason) and `GET/PUT
//! /v1/dealflow/weights`. A change of weights is checked by
//! [`sluice_portfolio::deals::parse_weights`] and applied, with every deal scored again
//! by the one scorer, in one transaction.

use super::portfolio::DEAL_JSON;
use crate::caller::Team;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};
use sluice_portfolio::deals::{self, SetWeightsError};
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::sync::Arc;

const WEIGHTS: &str = "SELECT coalesce(jsonb_agg(jsonb_build_object('factor', factor, 'weight', weight::text,
        'params', params, 'updated_by', updated_by, 'updated_at', updated_at) ORDER BY factor), '[]'),
        coalesce(sum(weight), 0)::text
    FROM deal_score_weights";

async fn current_weights(client: &impl deadpool_postgres::GenericClient) -> Result<Value, ApiError> {
    let row = client.query_one(WEIGHTS, &[]).await?;
    Ok(json!({ "items": row.try_get::<_, Value>(0)?, "total": row.try_get::<_, String>(1)? }))
}

/// `GET /v1/dealflow/weights`: each factor's weight and settings, and their total (a
/// deal's score is the weighted mean of its factors' values).
pub async fn weights(State(api): State<Arc<ApiState>>, _team: Team, query: QueryParams) -> Result<Response, ApiError> {
    query.only(&[])?;
    let client = api.pool.get().await?;
    Ok(json(StatusCode::OK, &current_weights(&client).await?))
}

/// `PUT /v1/dealflow/weights` `{"stage": 30, "sector_fit": {"weight": 20, "params": {...}}}`:
/// the factors given change, every deal is scored again; all of it or none of it.
pub async fn set_weights(
    State(api): State<Arc<ApiState>>,
    Team(caller): Team,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let changes = deals::parse_weights(&body).map_err(|e| ApiError::invalid(e.to_string()))?;
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    let scored = match deals::set_weights(&tx, &changes, &caller.user_id).await {
        Ok(scored) => scored,
        Err(SetWeightsError::Refused(e)) => return Err(ApiError::invalid(e.to_string())),
        Err(SetWeightsError::Portfolio(e)) => return Err(ApiError::internal(e)),
    };
    let mut answer = current_weights(&tx).await?;
    tx.commit().await?;
    tracing::info!(user = %caller.user_id, scored, weights = %answer["items"], "deal-score weights changed");
    answer["rescored"] = scored.into();
    Ok(json(StatusCode::OK, &answer))
}

/// `GET /v1/dealflow/{id}`: the deal, its score and the factors that make it.
pub async fn deal(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("no deal {raw_id}"));
    let id: i64 = raw_id.trim().parse().map_err(|_| unknown())?;
    let client = api.pool.get().await?;
    let row = client
        .query_opt(
            &format!(
                "SELECT {DEAL_JSON}, s.factors, s.scored_at
                 FROM (SELECT d.*, ds.score, ds.factors, ds.scored_at FROM dealflow d
                       LEFT JOIN deal_scores ds ON ds.deal_id = d.deal_id WHERE d.deal_id = $1) s"
            ),
            &[&id],
        )
        .await?
        .ok_or_else(unknown)?;
    let mut deal: Value = row.try_get(0)?;
    deal["factors"] = row.try_get::<_, Option<Value>>(1)?.unwrap_or(Value::Null);
    deal["scored_at"] = json!(row.try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(2)?);
    deal["links"] = json!({ "self": format!("/v1/dealflow/{id}"), "weights": "/v1/dealflow/weights" });
    Ok(json(StatusCode::OK, &deal))
}
