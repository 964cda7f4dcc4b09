//! Customer feedback from S3: review exports under `uploads/reviews/` and raw e-mail
//! under `inbound-email/` become one `FeedbackReceived` each on the feedback FIFO
//! queue (the signed webhooks are the HTTP API's). Validation and parsing are in
//! `sluice-feedback` (pure); this module does the I/O.
//!
//! E-mail is screened first: a message SES judged spam or a virus, whose SPF or DKIM
//! failed, that SES did not scan, or whose sender is over its hourly limit is recorded in
//! `inbound_email_refusals` with the reason, counted (`EmailsRefused` by `Reason`), and
//! queues nothing.

use crate::notice::UploadNotice;
use sluice_core::idempotency::{self, Claim};
use sluice_core::metrics::{MetricSet, Unit};
use sluice_core::request_windows::{self, Allowance};
use sluice_core::{Clock, ConfigError, ConfigSource, Destination, EventPublisher, Pool, PublishError};
use sluice_feedback::{EmailRefusal, InboundMail};
use sluice_messages::{CorrelationId, Envelope, FeedbackReceived, Producer};

/// Where feedback goes.
#[derive(Debug, Clone)]
pub struct FeedbackConfig {
    /// `FEEDBACK_QUEUE_URL`.
    pub queue_url: String,
    /// `MAX_FEEDBACK_OBJECT_BYTES` (10 MB): larger review exports and e-mails are
    /// refused (logged, not queued).
    pub max_object_bytes: u64,
    /// `INBOUND_EMAIL_PER_SENDER_PER_HOUR` (20): messages one `From` address may send in a
    /// clock hour; the rest are refused.
    pub email_per_sender_per_hour: u32,
}

impl FeedbackConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        Ok(Self {
            queue_url: cfg.required("FEEDBACK_QUEUE_URL")?,
            max_object_bytes: cfg.or("MAX_FEEDBACK_OBJECT_BYTES", 10 * 1024 * 1024)?,
            email_per_sender_per_hour: cfg.or("INBOUND_EMAIL_PER_SENDER_PER_HOUR", 20)?,
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
    /// Which hour a sender's messages count in.
    pub clock: Clock,
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
            FeedbackObject::Email => return self.email(notice, &bytes).await,
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

    /// One received e-mail: screened, counted against its sender's hour, and queued, or
    /// refused. The claim of the notification, the sender's count, and the queued item or
    /// the refusal's row are one transaction, so a redelivery counts nothing twice.
    async fn email(&self, notice: &UploadNotice, raw: &[u8]) -> Result<usize, FeedbackIntakeError> {
        let mail = sluice_feedback::screen_inbound(raw);
        let item = match mail.verdicts.refusal() {
            Some(refusal) => return self.refuse_email(notice, &mail, refusal).await.map(|_| 0),
            None => match sluice_feedback::parse_email(raw, &notice.key) {
                Ok(item) => item,
                Err(reason) => {
                    tracing::warn!(key = %notice.key, %reason, "e-mail refused");
                    return Ok(0);
                }
            },
        };
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
        if idempotency::claim(&tx, crate::SERVICE, &notice.idempotency_key())
            .await
            .map_err(db)?
            == Claim::Repeat
        {
            return Ok(0);
        }
        let limit = self.config.email_per_sender_per_hour;
        let sender_key = format!("inbound-email:{}", mail.sender.as_deref().unwrap_or("(no sender)"));
        let allowance = Allowance {
            per_hour: Some(limit),
            per_day: None,
        };
        let admission = request_windows::admit(&tx, &sender_key, allowance, self.clock.now())
            .await
            .map_err(db)?;
        if !admission.admitted {
            let refusal = EmailRefusal::SenderLimit {
                sender: mail.sender.clone().unwrap_or_else(|| "(no sender)".into()),
                limit,
            };
            record_refusal(&tx, notice, &mail, &refusal).await?;
            tx.commit().await.map_err(db)?;
            count_refusal(notice, &refusal);
            return Ok(0);
        }
        let correlation = format!("s3-{}", notice.idempotency_key());
        self.stage(&tx, vec![item], &correlation).await?;
        tx.commit().await.map_err(db)?;
        tracing::info!(key = %notice.key, "e-mail queued");
        Ok(1)
    }

    /// Records a message SES's verdicts refuse (once per notification) and counts it.
    async fn refuse_email(
        &self,
        notice: &UploadNotice,
        mail: &InboundMail,
        refusal: EmailRefusal,
    ) -> Result<(), FeedbackIntakeError> {
        let client = self.pool.get().await.map_err(db)?;
        if record_refusal(&client, notice, mail, &refusal).await? {
            count_refusal(notice, &refusal);
        }
        Ok(())
    }

    /// Stages the items in the outbox, in one transaction (sent by the caller's flush).
    async fn enqueue(&self, items: Vec<FeedbackReceived>, correlation: &str) -> Result<(), FeedbackIntakeError> {
        let mut client = self.pool.get().await.map_err(db)?;
        let tx = client.transaction().await.map_err(db)?;
        self.stage(&tx, items, correlation).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn stage(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        items: Vec<FeedbackReceived>,
        correlation: &str,
    ) -> Result<(), FeedbackIntakeError> {
        let correlation = CorrelationId::parse(correlation).unwrap_or_default();
        let destination = Destination::FifoQueue(self.config.queue_url.clone());
        for item in items {
            let envelope = Envelope::feedback(Producer::IngestValidator, correlation.clone(), item);
            EventPublisher::stage(tx, &destination, &envelope).await?;
        }
        Ok(())
    }
}

fn db(e: impl std::fmt::Display) -> FeedbackIntakeError {
    FeedbackIntakeError::Database(e.to_string())
}

/// One row per refused message; `false` when this notification was recorded before.
async fn record_refusal<C: deadpool_postgres::GenericClient>(
    client: &C,
    notice: &UploadNotice,
    mail: &InboundMail,
    refusal: &EmailRefusal,
) -> Result<bool, FeedbackIntakeError> {
    let inserted = client
        .execute(
            "INSERT INTO inbound_email_refusals (object, s3_key, sender, kind, reason)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (object) DO NOTHING",
            &[
                &notice.idempotency_key(),
                &notice.key,
                &mail.sender,
                &refusal.kind(),
                &refusal.to_string(),
            ],
        )
        .await
        .map_err(db)?;
    Ok(inserted == 1)
}

fn count_refusal(notice: &UploadNotice, refusal: &EmailRefusal) {
    tracing::warn!(key = %notice.key, kind = refusal.kind(), reason = %refusal, "e-mail refused");
    MetricSet::new(crate::SERVICE)
        .dimension("Reason", refusal.kind())
        .put("EmailsRefused", Unit::Count, 1.0)
        .emit();
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
