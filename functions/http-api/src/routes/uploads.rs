//! `POST /v1/uploads` (team members): a presigned S3 PUT for a spreadsheet, so a browser
//! sends the file straight to `uploads/<dataset>/<name>` (the object's arrival starts the
//! load, as an `aws s3 cp` does). The URL is signed here (no request to S3) and carries
//! the uploader as `x-amz-meta-uploaded-by`, which the browser must send as signed.

use crate::caller::Team;
use crate::ApiState;
use aws_sdk_s3::presigning::PresigningConfig;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use sluice_core::ConfigSource;
use sluice_messages::Dataset;
use sluice_web::{json, ApiError, JsonBody};
use std::sync::Arc;
use std::time::Duration;

/// How long a presigned upload URL works.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// Where uploads go.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    pub bucket: String,
}

impl UploadConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, sluice_core::ConfigError> {
        Ok(Self {
            bucket: cfg.required("UPLOAD_BUCKET")?,
        })
    }
}

/// The body of `POST /v1/uploads`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    pub dataset: String,
    pub file_name: String,
}

/// A file name that is one object name under `uploads/<dataset>/`: 1 to 200 characters,
/// no folder separator, no control character, not `.`-led (no `..`, no hidden files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFileName(String);

impl UploadFileName {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let name = raw.trim();
        let refuse = |why: &str| Err(ApiError::InvalidRequest(format!("file_name: {why}")));
        if name.is_empty() || name.chars().count() > 200 {
            return refuse("1 to 200 characters");
        }
        if name.contains(['/', '\\']) {
            return refuse("a name, not a path (no / or \\)");
        }
        if name.chars().any(char::is_control) {
            return refuse("no control characters");
        }
        if name.starts_with('.') {
            return refuse("must not start with '.'");
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The object key of an upload.
pub fn upload_key(dataset: Dataset, name: &UploadFileName) -> String {
    format!("uploads/{}/{}", dataset.as_str(), name.as_str())
}

/// S3 metadata must be ASCII: the uploader's id with anything else replaced.
pub fn metadata_value(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' })
        .collect()
}

/// `POST /v1/uploads {dataset, file_name}` -> 201 `{method, url, headers, key, expires_in}`.
pub async fn presign(
    State(api): State<Arc<ApiState>>,
    Team(caller): Team,
    JsonBody(body): JsonBody<UploadRequest>,
) -> Result<Response, ApiError> {
    let dataset = Dataset::parse(&body.dataset)?;
    let name = UploadFileName::parse(&body.file_name)?;
    let key = upload_key(dataset, &name);
    let uploaded_by = metadata_value(&caller.user_id);
    let config = PresigningConfig::expires_in(UPLOAD_URL_TTL).map_err(ApiError::internal)?;
    let request = api
        .s3
        .put_object()
        .bucket(&api.uploads.bucket)
        .key(&key)
        .metadata("uploaded-by", &uploaded_by)
        .presigned(config)
        .await
        .map_err(|e| ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    // The headers the signature covers besides `host`: the browser sends them as they are.
    let headers: serde_json::Map<String, serde_json::Value> = request
        .headers()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
    Ok(json(
        StatusCode::CREATED,
        &json!({
            "method": "PUT",
            "url": request.uri(),
            "headers": headers,
            "key": key,
            "dataset": dataset.as_str(),
            "expires_in": UPLOAD_URL_TTL.as_secs(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_in_their_folder() {
        let ok = UploadFileName::parse(" KPIs Q3 (2026).csv ").unwrap();
        assert_eq!(upload_key(Dataset::Kpis, &ok), "uploads/kpis/KPIs Q3 (2026).csv");
        for bad in [
            "",
            "../x.csv",
            "a/b.csv",
            "a\\b.csv",
            ".hidden",
            "a\nb.csv",
            &"x".repeat(201),
        ] {
            assert!(UploadFileName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UploadFileName::parse("Ventas año.xlsx").is_ok());
    }

    #[test]
    fn metadata_is_ascii() {
        assert_eq!(metadata_value("ana@example.com"), "ana@example.com");
        assert_eq!(metadata_value("josé\n"), "jos__");
    }
}
