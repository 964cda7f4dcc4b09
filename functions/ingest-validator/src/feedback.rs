//! Customer feedback in: signed webhooks (`POST /v1/webhooks/{source}`), review exports
//! under `uploads/reviews/` and raw e-mail under `inbound-email/` become one
//! `FeedbackReceived` each on the feedback FIFO queue. Validation and parsing are in
//! `sluice-feedback` (pure); this module does the I/O.

use crate::api::problem::{json_response, ApiError};
use crate::api::raw_body;
use crate::notice::UploadNotice;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use sluice_core::{ConfigError, ConfigSource, Destination, EventPublisher, Pool, PublishError};
use sluice_feedback::{WebhookError, WebhookSecrets, WebhookSource};
use sluice_messages::{CorrelationId, Envelope, FeedbackReceived, Payload, Producer};
use std::collections::HashMap;

/// Where feedback goes and the webhook secrets.
#[derive(Clone)]
pub struct FeedbackConfig {
    pub queue_url: String,
    pub secrets: WebhookSecrets,
    /// Review exports and e-mails larger than this are refused (logged, not queued).
    pub max_object_bytes: u64,
}

impl std::fmt::Debug for FeedbackConfig {
    // The secrets never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedbackConfig")
            .field("queue_url", &self.queue_url)
            .field("max_object_bytes", &self.max_object_bytes)
            .finish_non_exhaustive()
    }
}

impl FeedbackConfig {
    /// `FEEDBACK_QUEUE_URL` (none: feedback intake is off); secrets from
    /// `ZENDESK_WEBHOOK_SECRET`, `INTERCOM_CLIENT_SECRET` and `STANDARD_WEBHOOK_SECRET`
    /// (space-separated `whsec_...` during a rotation). In AWS `main` reads them from
    /// Secrets Manager (`WEBHOOK_SECRETS_ARN`) into the same keys.
    pub fn load(cfg: &ConfigSource) -> Result<Option<Self>, ConfigError> {
        let Some(queue_url) = cfg.optional::<String>("FEEDBACK_QUEUE_URL")? else {
            return Ok(None);
        };
        let secret = |key: &str| -> Result<Option<String>, ConfigError> {
            Ok(cfg.optional::<String>(key)?.filter(|s| !s.trim().is_empty()))
        };
        Ok(Some(Self {
            queue_url,
            secrets: WebhookSecrets {
                zendesk: secret("ZENDESK_WEBHOOK_SECRET")?,
                intercom: secret("INTERCOM_CLIENT_SECRET")?,
                standard: secret("STANDARD_WEBHOOK_SECRET")?
                    .map(|s| s.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
            },
            max_object_bytes: cfg.or("MAX_FEEDBACK_OBJECT_BYTES", 10 * 1024 * 1024)?,
        }))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FeedbackIntakeError {
    #[error("reading the object from S3 failed: {0}")]
    Storage(String),
    #[error("queueing feedback failed: {0}")]
    Publish(#[from] PublishError),
    #[error("database: {0}")]
    Database(String),
}

/// Feedback intake, built once per instance.
#[derive(Clone)]
pub struct FeedbackIntake {
    pub pool: Pool,
    pub s3: aws_sdk_s3::Client,
    pub publisher: EventPublisher,
    pub config: FeedbackConfig,
}

/// Is this S3 key feedback (and which kind), rather than a spreadsheet?
pub fn feedback_object(key: &str) -> Option<FeedbackObject> {
    let lower = key.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("uploads/reviews/") {
        if rest.ends_with(".json") {
            return Some(FeedbackObject::AppStoreReviews);
        }
        if rest.ends_with(".csv") {
            return Some(FeedbackObject::GooglePlayReviews);
        }
        return Some(FeedbackObject::Unknown);
    }
    if lower.starts_with("inbound-email/") {
        return Some(FeedbackObject::Email);
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackObject {
    AppStoreReviews,
    GooglePlayReviews,
    Email,
    /// Under `uploads/reviews/` but neither JSON nor CSV.
    Unknown,
}

impl FeedbackIntake {
    /// `POST /v1/webhooks/{source}`: no JWT (the sender signs instead). Refusals queue
    /// and store nothing; a valid delivery is only validated, normalised and queued.
    pub async fn webhook(
        &self,
        source: &str,
        request: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let source = WebhookSource::parse(source).ok_or(ApiError::NotFound)?;
        let body = raw_body(request)?;
        let headers: HashMap<String, String> = request
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_ascii_lowercase(), value.to_str().ok()?.to_owned())))
            .collect();
        let item =
            match sluice_feedback::receive_webhook(source, &headers, &body, &self.config.secrets, chrono::Utc::now()) {
                Ok(item) => item,
                Err(WebhookError::Unsupported(what)) => {
                    // Signed and valid, but nothing to triage (e.g. a user.created event).
                    tracing::info!(?source, what, "webhook delivery carries no feedback; ignored");
                    return Ok(json_response(
                        202,
                        &serde_json::json!({"accepted": false, "reason": what}),
                    ));
                }
                Err(e) => return Err(webhook_refusal(e)),
            };
        let external_id = item.external_id.clone();
        self.enqueue(vec![item], &format!("webhook-{}", source_name(source)))
            .await
            .map_err(ApiError::internal)?;
        Ok(json_response(
            202,
            &serde_json::json!({"accepted": true, "external_id": external_id}),
        ))
    }

    /// A review export or an e-mail in S3: every item it holds onto the feedback queue.
    /// Re-reading the same object queues the same ids and revisions, which triage
    /// treats as the same deliveries.
    pub async fn object(&self, notice: &UploadNotice, kind: FeedbackObject) -> Result<usize, FeedbackIntakeError> {
        if notice.size > self.config.max_object_bytes {
            tracing::warn!(key = %notice.key, size = notice.size, "feedback object over the size limit; not read");
            return Ok(0);
        }
        let mut get = self.s3.get_object().bucket(&notice.bucket).key(&notice.key);
        if let Some(v) = &notice.version_id {
            get = get.version_id(v);
        }
        let object = get
            .send()
            .await
            .map_err(|e| FeedbackIntakeError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| FeedbackIntakeError::Storage(e.to_string()))?
            .into_bytes();
        let parsed: Result<Vec<FeedbackReceived>, String> = match kind {
            FeedbackObject::AppStoreReviews => {
                sluice_feedback::parse_app_store_reviews(&bytes).map_err(|e| e.to_string())
            }
            FeedbackObject::GooglePlayReviews => {
                sluice_feedback::parse_google_play_reviews(&bytes).map_err(|e| e.to_string())
            }
            FeedbackObject::Email => sluice_feedback::parse_email(&bytes, &notice.key)
                .map(|item| vec![item])
                .map_err(|e| e.to_string()),
            FeedbackObject::Unknown => Err("review exports are .json (App Store) or .csv (Google Play)".into()),
        };
        let items = match parsed {
            Ok(items) => items,
            Err(reason) => {
                // A file that will never parse: say why, keep the original, queue nothing.
                tracing::warn!(key = %notice.key, reason, "feedback object refused");
                return Ok(0);
            }
        };
        let count = items.len();
        let correlation = format!("s3-{}", notice.idempotency_key());
        self.enqueue(items, &correlation).await?;
        tracing::info!(key = %notice.key, items = count, "feedback queued");
        Ok(count)
    }

    /// Stages the items in the outbox (one transaction) and sends them.
    async fn enqueue(&self, items: Vec<FeedbackReceived>, correlation: &str) -> Result<(), FeedbackIntakeError> {
        let correlation = CorrelationId::parse(correlation).unwrap_or_default();
        let destination = Destination::FifoQueue(self.config.queue_url.clone());
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|e| FeedbackIntakeError::Database(e.to_string()))?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| FeedbackIntakeError::Database(e.to_string()))?;
        for item in items {
            let name = format!("{}:{}:{}", item.source.as_str(), item.external_id, item.revision);
            let envelope = Envelope::new(
                Producer::IngestValidator,
                correlation.clone(),
                Payload::FeedbackReceived(item),
            )
            .with_derived_id(&name);
            EventPublisher::stage(&tx, &destination, &envelope).await?;
        }
        tx.commit()
            .await
            .map_err(|e| FeedbackIntakeError::Database(e.to_string()))?;
        self.publisher.flush(&self.pool, Producer::IngestValidator).await?;
        Ok(())
    }
}

fn source_name(source: WebhookSource) -> &'static str {
    match source {
        WebhookSource::Zendesk => "zendesk",
        WebhookSource::Intercom => "intercom",
        WebhookSource::Standard => "standard",
    }
}

/// Signature problems are 401 with a reason that helps the sender and nothing more.
fn webhook_refusal(e: WebhookError) -> ApiError {
    match e {
        WebhookError::MissingSignature | WebhookError::BadSignature | WebhookError::StaleTimestamp => {
            ApiError::BadSignature(e.to_string())
        }
        WebhookError::MalformedHeader(_) => ApiError::BadSignature(e.to_string()),
        WebhookError::NotConfigured => ApiError::internal("a webhook arrived for a source with no secret configured"),
        WebhookError::Malformed(reason) => ApiError::InvalidRequest(reason),
        WebhookError::Unsupported(what) => ApiError::InvalidRequest(what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_objects_by_prefix_and_extension() {
        assert_eq!(
            feedback_object("uploads/reviews/ios-2026-11.json"),
            Some(FeedbackObject::AppStoreReviews)
        );
        assert_eq!(
            feedback_object("uploads/reviews/play.CSV"),
            Some(FeedbackObject::GooglePlayReviews)
        );
        assert_eq!(
            feedback_object("uploads/reviews/notes.txt"),
            Some(FeedbackObject::Unknown)
        );
        assert_eq!(feedback_object("inbound-email/abc123"), Some(FeedbackObject::Email));
        assert_eq!(feedback_object("uploads/kpis/q3.csv"), None);
    }
}
