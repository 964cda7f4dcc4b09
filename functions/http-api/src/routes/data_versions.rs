//! Spreadsheet loads (team members): `GET /v1/data-versions`, `GET /v1/data-versions/{id}`.

use crate::caller::Team;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
use sluice_messages::Dataset;
use sluice_web::{json, ApiError, QueryParams};
use std::sync::Arc;

/// `GET /v1/data-versions?dataset=&limit=`: newest first.
pub async fn list(State(api): State<Arc<ApiState>>, _team: Team, query: QueryParams) -> Result<Response, ApiError> {
    query.only(&["dataset", "limit"])?;
    let dataset = query.first("dataset").map(Dataset::parse).transpose()?;
    let limit: i64 = query
        .parsed::<i64>("limit", "a number from 1 to 200")?
        .map(|n| {
            (1..=200)
                .contains(&n)
                .then_some(n)
                .ok_or_else(|| ApiError::invalid("limit must be a number from 1 to 200"))
        })
        .transpose()?
        .unwrap_or(50);
    let client = api.pool.get().await?;
    let rows = client
        .query(
            &format!(
                "{DATA_VERSION_SELECT} WHERE ($1::text IS NULL OR table_name = $1) ORDER BY version_id DESC LIMIT $2"
            ),
            &[&dataset.map(|d| d.as_str()), &limit],
        )
        .await?;
    let items: Vec<serde_json::Value> = rows.iter().map(data_version_json).collect();
    Ok(json(StatusCode::OK, &json!({ "items": items })))
}

/// `GET /v1/data-versions/{id}`.
pub async fn get(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("no spreadsheet load {raw_id}"));
    let id: i64 = raw_id.parse().map_err(|_| unknown())?;
    let client = api.pool.get().await?;
    let row = client
        .query_opt(&format!("{DATA_VERSION_SELECT} WHERE version_id = $1"), &[&id])
        .await?
        .ok_or_else(unknown)?;
    Ok(json(StatusCode::OK, &data_version_json(&row)))
}

const DATA_VERSION_SELECT: &str = "SELECT version_id, table_name, file_name, s3_path, checksum, imported_by, status,
    failure_reason, rows_inserted, rows_updated, rows_unchanged, rows_rejected, rows_stale, rows_superseded,
    rejects_key, change_report_key, import_timestamp, finished_at FROM data_versions";

fn data_version_json(r: &tokio_postgres::Row) -> serde_json::Value {
    json!({
        "id": r.get::<_, i64>(0),
        "dataset": r.get::<_, Option<String>>(1),
        "file_name": r.get::<_, String>(2),
        "s3_path": r.get::<_, String>(3),
        "checksum": r.get::<_, Option<String>>(4),
        "uploaded_by": r.get::<_, Option<String>>(5),
        "status": r.get::<_, String>(6),
        "failure_reason": r.get::<_, Option<String>>(7),
        "counts": {
            "inserted": r.get::<_, Option<i32>>(8), "updated": r.get::<_, Option<i32>>(9),
            "unchanged": r.get::<_, Option<i32>>(10), "rejected": r.get::<_, Option<i32>>(11),
            "stale": r.get::<_, Option<i32>>(12), "superseded": r.get::<_, Option<i32>>(13),
        },
        "rejects_key": r.get::<_, Option<String>>(14),
        "change_report_key": r.get::<_, Option<String>>(15),
        "received_at": r.get::<_, chrono::DateTime<chrono::Utc>>(16),
        "finished_at": r.get::<_, Option<chrono::DateTime<chrono::Utc>>>(17),
    })
}
