//! Spreadsheet loads (team members): `GET /v1/data-versions`, `GET /v1/data-versions/{id}`.
//! Each load links to what it produced: its rejects file and change report (presigned S3
//! links, valid for [`LINK_TTL`]) and the load it duplicates.

use super::listing::{self, Answer, Format, Listing, Param};
use crate::caller::Team;
use crate::ApiState;
use aws_sdk_s3::presigning::PresigningConfig;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use sluice_messages::Dataset;
use sluice_web::{json, ApiError, QueryParams};
use std::sync::Arc;
use std::time::Duration;

/// How long a download link of a rejects file or change report works.
pub const LINK_TTL: Duration = Duration::from_secs(15 * 60);

pub const STATUSES: [&str; 5] = ["pending", "success", "partial", "failed", "duplicate"];

const DATA_VERSION_COLUMNS: &[&str] = &[
    "id",
    "dataset",
    "file_name",
    "s3_path",
    "checksum",
    "uploaded_by",
    "status",
    "failure_reason",
    "counts",
    "rejects_key",
    "change_report_key",
    "duplicate_of",
    "received_at",
    "finished_at",
];

/// A load as the API shows it (`v` is `data_versions`).
const DATA_VERSION_JSON: &str = "jsonb_build_object('id', v.version_id, 'dataset', v.table_name,
    'file_name', v.file_name, 's3_path', v.s3_path, 'checksum', v.checksum, 'uploaded_by', v.imported_by,
    'status', v.status, 'failure_reason', v.failure_reason,
    'counts', jsonb_build_object('inserted', v.rows_inserted, 'updated', v.rows_updated,
        'unchanged', v.rows_unchanged, 'rejected', v.rows_rejected, 'stale', v.rows_stale,
        'superseded', v.rows_superseded),
    'rejects_key', v.rejects_key, 'change_report_key', v.change_report_key, 'duplicate_of', v.duplicate_of,
    'received_at', v.import_timestamp, 'finished_at', v.finished_at)";

/// `GET /v1/data-versions?dataset=&status=&file_name=&limit=&cursor=`: newest first;
/// `file_name` matches part of the name, ignoring case.
pub async fn list(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["dataset", "status", "file_name", "limit", "cursor"])?;
    let dataset = query.first("dataset").map(Dataset::parse).transpose()?;
    let status = listing::one_of("status", query.first("status"), &STATUSES)?;
    let limit = listing::limit(&query)?;
    let before = listing::cursor(&query, |k| k.first()?.as_i64())?;
    let params: Vec<Param> = vec![
        Box::new(dataset.map(|d| d.as_str())),
        Box::new(status),
        Box::new(query.first("file_name").map(|f| f.trim().to_lowercase())),
        Box::new(before),
    ];
    let listing = Listing::jsonb(
        format!(
            "SELECT {DATA_VERSION_JSON}, jsonb_build_array(v.version_id) FROM data_versions v
             WHERE ($1::text IS NULL OR v.table_name = $1) AND ($2::text IS NULL OR v.status = $2)
               AND ($3::text IS NULL OR strpos(lower(v.file_name), $3) > 0)
               AND ($4::bigint IS NULL OR v.version_id < $4)
             ORDER BY v.version_id DESC LIMIT $5"
        ),
        params,
        DATA_VERSION_COLUMNS,
        "data-versions.csv",
    );
    match listing.run(&api, Format::of(&headers), limit).await? {
        Answer::Csv(response) => Ok(response),
        Answer::Page { mut items, next_cursor } => {
            for item in &mut items {
                api.add_links(item).await?;
            }
            Ok(listing::page_response(items, next_cursor))
        }
    }
}

/// `GET /v1/data-versions/{id}`.
pub async fn get(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("no spreadsheet load {raw_id}"));
    let id: i64 = raw_id.trim().parse().map_err(|_| unknown())?;
    let client = api.pool.get().await?;
    let row = client
        .query_opt(
            &format!("SELECT {DATA_VERSION_JSON} FROM data_versions v WHERE v.version_id = $1"),
            &[&id],
        )
        .await?
        .ok_or_else(unknown)?;
    drop(client);
    let mut item: Value = row.try_get(0)?;
    api.add_links(&mut item).await?;
    Ok(json(StatusCode::OK, &item))
}

impl ApiState {
    /// `links` of a load: itself, its download links (presigned: signed here, no request
    /// to S3) and the load it duplicates.
    async fn add_links(&self, item: &mut Value) -> Result<(), ApiError> {
        let rejects = self.download_link(item["rejects_key"].as_str()).await?;
        let change_report = self.download_link(item["change_report_key"].as_str()).await?;
        item["links"] = json!({
            "self": format!("/v1/data-versions/{}", item["id"]),
            "rejects": rejects,
            "change_report": change_report,
            "duplicate_of": item["duplicate_of"].as_i64().map(|d| format!("/v1/data-versions/{d}")),
        });
        Ok(())
    }

    async fn download_link(&self, key: Option<&str>) -> Result<Option<String>, ApiError> {
        let Some(key) = key else {
            return Ok(None);
        };
        let config = PresigningConfig::expires_in(LINK_TTL).map_err(ApiError::internal)?;
        let request = self
            .s3
            .get_object()
            .bucket(&self.analyses.document_bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(Some(request.uri().to_owned()))
    }
}
