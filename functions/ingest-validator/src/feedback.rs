//! Customer feedback from S3: review exports under `uploads/reviews/` and raw e-mail
//! under `inbound-email/` become one `FeedbackReceived` each on the feedback FIFO
//! queue (the signed webhooks are the HTTP API's). Validation and parsing are in
//! `sluice-feedback` (pure); this module does the I/O.

use crate::notice::UploadNotice;
use sluice_core::{ConfigError, ConfigSource, Destination, EventPublisher, Pool, PublishError};
use sluice_messages::{CorrelationId, Envelope, FeedbackReceived, Producer};

/// Where feedback goes.
#[derive(Debug, Clone)]
pub struct FeedbackConfig {
    /// `FEEDBACK_QUEUE_URL`.
    pub queue_url: String,
    /// `MAX_FEEDBACK_OBJECT_BYTES` (10 MB): larger review exports and e-mails are
    /// refused (logged, not queued).
    pub max_object_bytes: u64,
}

impl FeedbackConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        Ok(Self {
            queue_url: cfg.required("FEEDBACK_QUEUE_URL")?,
            max_object_bytes: cfg.or("MAX_FEEDBACK_OBJECT_BYTES", 10 * 1024 * 1024)?,
        })
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

/// Feedback intake from S3, built by [`crate::Ingest::build`].
#[derive(Clone)]
pub struct FeedbackIntake {
    pub pool: Pool,
    pub s3: aws_sdk_s3::Client,
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

    /// Stages the items in the outbox, in one transaction (sent by the caller's flush).
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
            let envelope = Envelope::feedback(Producer::IngestValidator, correlation.clone(), item);
            EventPublisher::stage(&tx, &destination, &envelope).await?;
        }
        tx.commit()
            .await
            .map_err(|e| FeedbackIntakeError::Database(e.to_string()))?;
        Ok(())
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
