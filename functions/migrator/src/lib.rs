//! The deploy's database step, as a CloudFormation custom resource (`Custom::DatabaseMigration`
//! in template.yaml). On Create and Update it applies the migrations (under the advisory lock
//! every runner takes), gives each function's role the login of its secret, and loads the
//! ticker universe (idempotent upserts); on Delete it does nothing: the data outlives the
//! resource. Whatever happens, CloudFormation is answered (a PUT of the result to the
//! request's pre-signed `ResponseURL`), so a failure fails the deploy in minutes instead of
//! leaving the stack waiting an hour.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sluice_core::{migrate, ConfigSource, InitError, Instance, Pool, Secrets};
use std::time::Duration;

pub const SERVICE: &str = "migrator";

/// The resource's one identity: an Update never replaces it (so CloudFormation never
/// sends a Delete for an old one).
pub const PHYSICAL_RESOURCE_ID: &str = "sluice-database";

/// The constituents the price jobs refresh (the same file `make tickers` loads).
const CONSTITUENTS: &[u8] = include_bytes!("../../../data/sp500_constituents.csv");

/// CloudFormation's answer may be at most 4,096 bytes; the reason is kept well below.
const MAX_REASON: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum MigratorError {
    #[error("the request is not a CloudFormation custom resource request: {0}")]
    Malformed(String),
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    #[error("database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("ticker universe: {0}")]
    Universe(#[from] sluice_market::universe::UniverseError),
    #[error("CloudFormation could not be answered: {0}")]
    Respond(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

/// What CloudFormation sends a custom resource's function.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceRequest {
    pub request_type: RequestType,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_properties: Value,
}

/// What the function PUTs to `ResponseURL`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceResponse {
    pub status: &'static str,
    pub reason: String,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub no_echo: bool,
    pub data: Value,
}

impl CustomResourceResponse {
    /// The answer to `request`, given how the work went.
    pub fn to(request: &CustomResourceRequest, outcome: &Result<Value, MigratorError>, log_stream: &str) -> Self {
        let (status, reason, data) = match outcome {
            Ok(data) => ("SUCCESS", "done".to_owned(), data.clone()),
            Err(e) => {
                let mut reason = format!("{e} (the migrator's log stream: {log_stream})");
                if reason.len() > MAX_REASON {
                    let mut cut = MAX_REASON;
                    while !reason.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    reason.truncate(cut);
                }
                ("FAILED", reason, json!({}))
            }
        };
        Self {
            status,
            reason,
            // A failed Create has no resource yet; CloudFormation still needs an id.
            physical_resource_id: request
                .physical_resource_id
                .clone()
                .unwrap_or_else(|| PHYSICAL_RESOURCE_ID.to_owned()),
            stack_id: request.stack_id.clone(),
            request_id: request.request_id.clone(),
            logical_resource_id: request.logical_resource_id.clone(),
            no_echo: false,
            data,
        }
    }
}

/// The function, built once per instance: the master login's pool (migrations and role
/// logins need it), the secrets of the roles' logins, and a client to answer with.
pub struct Migrator {
    pub pool: Pool,
    pub cfg: ConfigSource,
    pub secrets: std::sync::Arc<Secrets>,
    pub http: reqwest::Client,
}

impl Migrator {
    pub fn build(instance: &Instance) -> Result<Self, InitError> {
        Ok(Self {
            pool: instance.pool.clone(),
            cfg: instance.cfg.clone(),
            secrets: instance.secrets.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| InitError::unusable("migrator", e))?,
        })
    }

    /// Migrations, role logins, tickers: each idempotent, so an Update (or a retry) is safe.
    pub async fn apply(&self) -> Result<Value, MigratorError> {
        let mut client = self.pool.get().await?;
        let applied = migrate::run(&mut client, &migrate::embedded()?).await?;
        let without_login = migrate::grant_logins(&client, &self.cfg, &self.secrets).await?;
        drop(client);
        let tickers = sluice_market::universe::load_constituents(&self.pool, CONSTITUENTS).await?;
        tracing::info!(
            ?applied,
            ?without_login,
            inserted = tickers.inserted,
            updated = tickers.updated,
            rejected = tickers.rejected.len(),
            "database ready"
        );
        Ok(json!({
            "MigrationsApplied": applied.len(),
            "RolesWithoutLogin": without_login.join(","),
            "TickersLoaded": tickers.inserted + tickers.updated + tickers.unchanged,
        }))
    }

    /// One CloudFormation request: do the work, then answer it (retried a few times). The
    /// Lambda invocation fails only when CloudFormation could not be told.
    pub async fn handle_event(&self, event: Value) -> Result<Value, MigratorError> {
        let request: CustomResourceRequest =
            serde_json::from_value(event).map_err(|e| MigratorError::Malformed(e.to_string()))?;
        tracing::info!(kind = ?request.request_type, resource = %request.logical_resource_id, "CloudFormation request");
        let outcome = match request.request_type {
            RequestType::Create | RequestType::Update => self.apply().await,
            RequestType::Delete => Ok(json!({})),
        };
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "the database step failed");
        }
        let log_stream = self
            .cfg
            .optional::<String>("AWS_LAMBDA_LOG_STREAM_NAME")
            .ok()
            .flatten()
            .unwrap_or_else(|| "(local)".to_owned());
        let response = CustomResourceResponse::to(&request, &outcome, &log_stream);
        self.respond(&request.response_url, &response).await?;
        Ok(json!({"status": response.status}))
    }

    /// PUTs the answer to the pre-signed URL: no Content-Type (the signature covers none).
    async fn respond(&self, url: &str, response: &CustomResourceResponse) -> Result<(), MigratorError> {
        let body = serde_json::to_vec(response).map_err(|e| MigratorError::Respond(e.to_string()))?;
        let mut last = String::new();
        for attempt in 0..4u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
            }
            match self.http.put(url).body(body.clone()).send().await {
                Ok(answer) if answer.status().is_success() => return Ok(()),
                // The URL is pre-signed: never log it.
                Ok(answer) => last = format!("HTTP {}", answer.status()),
                Err(e) => last = e.without_url().to_string(),
            }
        }
        Err(MigratorError::Respond(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: &str) -> CustomResourceRequest {
        serde_json::from_value(json!({
            "RequestType": kind,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:migrator",
            "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=s",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/sluice/1",
            "RequestId": "r-1",
            "LogicalResourceId": "DatabaseMigration",
            "ResourceType": "Custom::DatabaseMigration",
            "ResourceProperties": {"ServiceToken": "arn", "Version": "1"}
        }))
        .unwrap()
    }

    #[test]
    fn the_sample_request_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/cloudformation-create-database-migration.json");
        let sample: CustomResourceRequest = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(sample.request_type, RequestType::Create);
        assert_eq!(sample.logical_resource_id, "DatabaseMigration");
        assert!(sample.physical_resource_id.is_none());
    }

    #[test]
    fn answers_carry_the_request_s_identity_and_a_bounded_reason() {
        let create = request("Create");
        let ok = CustomResourceResponse::to(&create, &Ok(json!({"MigrationsApplied": 3})), "s");
        assert_eq!(
            (ok.status, ok.physical_resource_id.as_str()),
            ("SUCCESS", PHYSICAL_RESOURCE_ID)
        );
        assert_eq!(
            (ok.request_id.as_str(), ok.logical_resource_id.as_str()),
            ("r-1", "DatabaseMigration")
        );
        let failed = CustomResourceResponse::to(&create, &Err(MigratorError::Malformed("é".repeat(2_000))), "s");
        assert_eq!(failed.status, "FAILED");
        assert!(failed.reason.len() <= MAX_REASON);
        let body = serde_json::to_value(&failed).unwrap();
        for field in [
            "Status",
            "Reason",
            "PhysicalResourceId",
            "StackId",
            "RequestId",
            "LogicalResourceId",
            "Data",
        ] {
            assert!(body.get(field).is_some(), "{field}");
        }
        let mut update = request("Update");
        update.physical_resource_id = Some("earlier-id".into());
        let kept = CustomResourceResponse::to(&update, &Ok(json!({})), "s");
        assert_eq!(kept.physical_resource_id, "earlier-id");
    }
}
