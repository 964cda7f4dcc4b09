//! notifier: tells people of the events they may see, by e-mail (SES) and through the
//! webhooks they registered (Standard Webhooks), each once.
//!
//! It consumes the events topic's subscription queue (filtered to the kinds it acts on:
//! template.yaml's `NotifierEventsSubscription`). For each event, in one transaction with
//! the event's claim (the one idempotency mechanism, `processed_messages`), it stages one
//! e-mail per recipient and kind (`email_notifications`, unique per event, kind and
//! recipient) and one delivery per matching webhook endpoint (`webhook_deliveries`,
//! unique per endpoint and event). Then it sends what is staged: a redelivered event
//! stages nothing again and sends only what is still pending, so each e-mail goes out
//! once (the one window left: SES accepted it and the process died before its row was
//! marked sent). Recipients follow the live stream's rule
//! ([`sluice_messages::audience`]): the event's user, or every team member for a
//! team-wide event, and only those with an address who have not muted the kind.
//!
//! A webhook delivery that fails is retried with backoff
//! ([`sluice_notify::webhooks::RETRY_SCHEDULE`]) through a message on its retry queue
//! (SQS delays of at most 15 minutes, re-sent until the delivery is due), so nothing
//! polls the database on a timer; an endpoint is disabled after
//! `WEBHOOK_DISABLE_AFTER_FAILURES` failed attempts in a row.

pub mod email;
pub mod webhooks;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use sluice_core::idempotency::{self, Claim};
use sluice_core::{
    Answer, BatchProcessor, Clock, ConsumeError, Delivery, Function, FunctionError, InitError, Instance, Pool,
    RecordError, Trigger,
};
use sluice_messages::{audience, Envelope, Money, Payload};
use sluice_notify::kinds;
use sluice_notify::target::{TargetPolicy, ALLOW_PRIVATE_SETTING};
use std::time::Duration;

pub const SERVICE: &str = "notifier";
/// The consumer's name in `processed_messages`.
pub const CONSUMER: &str = "notifier";

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("SES refused or failed: {0}")]
    Ses(String),
    #[error("the retry queue: {0}")]
    Queue(String),
    #[error("the e-mail could not be written: {0}")]
    Mime(String),
    #[error("not a webhook retry: {0}")]
    Malformed(String),
}

impl RecordError for NotifierError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => !sluice_core::db::is_permanent(e),
            Self::Pool(_) | Self::Ses(_) | Self::Queue(_) => true,
            Self::Mime(_) | Self::Malformed(_) => false,
        }
    }
}

/// The settings of template.yaml's NotifierFunction.
#[derive(Clone)]
pub struct NotifierConfig {
    /// `SES_FROM_ADDRESS`: a verified SES identity.
    pub from: String,
    /// `SES_CONFIGURATION_SET`, when set.
    pub configuration_set: Option<String>,
    /// `PUBLIC_API_URL`: where the unsubscribe link points (the HTTP API).
    pub public_api_url: String,
    /// `NOTIFY_SIGNING_SECRET` (a secret): signs unsubscribe tokens (the HTTP API checks them).
    pub signing_key: sluice_core::Secret,
    /// `LOW_BALANCE_THRESHOLD` (dollars, default 5.00): a charge that leaves less sends the e-mail.
    pub low_balance: Money,
    /// `REJECTS_LINK_TTL_SECS` (default 7 days, SigV4's most): how long a rejects link works.
    pub rejects_link_ttl: Duration,
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS` (local stack only).
    pub targets: TargetPolicy,
    /// `WEBHOOK_TIMEOUT_SECS` (default 10).
    pub webhook_timeout: Duration,
    /// `WEBHOOK_DISABLE_AFTER_FAILURES` (default 20): failed attempts in a row that disable an endpoint.
    pub disable_after: i32,
    /// `WEBHOOK_RETRY_QUEUE_URL`.
    pub retry_queue_url: String,
    /// `WEBHOOK_RETRY_SCHEDULE_SECS` (default Svix's: 5,300,1800,7200,18000,36000,36000):
    /// the waits after each failed attempt.
    pub retry_schedule: Vec<Duration>,
}

/// `WEBHOOK_ALLOW_PRIVATE_TARGETS`: loopback and private receivers, allowed only off AWS.
pub fn target_policy(cfg: &sluice_core::ConfigSource) -> Result<TargetPolicy, InitError> {
    TargetPolicy::configured(cfg.or(ALLOW_PRIVATE_SETTING, false)?, cfg.in_aws())
        .map_err(|reason| InitError::unusable(ALLOW_PRIVATE_SETTING, reason))
}

impl NotifierConfig {
    pub async fn load(instance: &Instance) -> Result<Self, InitError> {
        let cfg = &instance.cfg;
        let low: String = cfg.or("LOW_BALANCE_THRESHOLD", "5.00".to_owned())?;
        let rejects_ttl: u64 = cfg.or("REJECTS_LINK_TTL_SECS", 7 * 24 * 3600)?;
        if rejects_ttl == 0 || rejects_ttl > 7 * 24 * 3600 {
            return Err(InitError::unusable(
                "REJECTS_LINK_TTL_SECS",
                "between 1 and 604800 (7 days, the most a presigned link works)",
            ));
        }
        let signing_key = instance.secrets.required(cfg, "NOTIFY_SIGNING_SECRET").await?;
        if signing_key.expose().len() < 16 {
            return Err(InitError::unusable("NOTIFY_SIGNING_SECRET", "at least 16 characters"));
        }
        let disable_after: i32 = cfg.or("WEBHOOK_DISABLE_AFTER_FAILURES", 20)?;
        if disable_after < 1 {
            return Err(InitError::unusable("WEBHOOK_DISABLE_AFTER_FAILURES", "at least 1"));
        }
        Ok(Self {
            from: cfg.required("SES_FROM_ADDRESS")?,
            configuration_set: cfg.optional("SES_CONFIGURATION_SET")?,
            public_api_url: cfg.required("PUBLIC_API_URL")?,
            signing_key,
            low_balance: Money::parse_dollars(&low).map_err(|e| InitError::unusable("LOW_BALANCE_THRESHOLD", e))?,
            rejects_link_ttl: Duration::from_secs(rejects_ttl),
            targets: target_policy(cfg)?,
            webhook_timeout: Duration::from_secs(cfg.or("WEBHOOK_TIMEOUT_SECS", 10u64)?),
            disable_after,
            retry_queue_url: cfg.required("WEBHOOK_RETRY_QUEUE_URL")?,
            retry_schedule: match cfg.optional::<String>("WEBHOOK_RETRY_SCHEDULE_SECS")? {
                Some(raw) => sluice_notify::webhooks::parse_schedule(&raw)
                    .map_err(|e| InitError::unusable("WEBHOOK_RETRY_SCHEDULE_SECS", e))?,
                None => sluice_notify::webhooks::RETRY_SCHEDULE.to_vec(),
            },
        })
    }
}

/// What one event led to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// E-mails staged by this delivery (0 on a redelivery).
    pub staged_emails: usize,
    /// E-mails sent by this delivery.
    pub sent_emails: usize,
    /// Webhook deliveries staged by this delivery.
    pub staged_webhooks: usize,
}

#[derive(Clone)]
pub struct Notifier {
    pub pool: Pool,
    pub ses: aws_sdk_sesv2::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub http: reqwest::Client,
    pub config: NotifierConfig,
    pub clock: Clock,
    /// Both queues' consumer (DLQ: `DEAD_LETTER_QUEUE_URL`).
    pub processor: BatchProcessor,
}

impl Notifier {
    /// The one constructor (Lambda, the local runner, the tests).
    pub async fn build(instance: &Instance) -> Result<Self, InitError> {
        let config = NotifierConfig::load(instance).await?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.webhook_timeout)
            .user_agent("Sluice-Webhooks/1")
            .build()
            .map_err(|e| InitError::unusable("WEBHOOK_TIMEOUT_SECS", e))?;
        Ok(Self {
            pool: instance.pool.clone(),
            ses: aws_sdk_sesv2::Client::new(&instance.sdk),
            s3: instance.s3(),
            sqs: instance.sqs(),
            http,
            config,
            clock: instance.clock,
            processor: instance.processor("DEAD_LETTER_QUEUE_URL")?,
        })
    }

    /// A batch of either queue: webhook retries are told apart by their body.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor
            .process(event, |record| async move { self.handle_record(record).await })
            .await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), ConsumeError<NotifierError>> {
        let body = record.body.as_deref().unwrap_or_default();
        if let Some(retry) = webhooks::RetryMessage::parse(body) {
            return self
                .retry_delivery(retry.webhook_delivery, self.clock.now())
                .await
                .map(|_| ())
                .map_err(ConsumeError::Step);
        }
        let delivery = Delivery::<Payload>::from_record(&record)?;
        self.handle_delivery(delivery)
            .await
            .map(|_| ())
            .map_err(ConsumeError::Step)
    }

    /// One event: stage (once), then send what is pending.
    pub async fn handle_delivery(&self, delivery: Delivery<Payload>) -> Result<Outcome, NotifierError> {
        let envelope = delivery.into_envelope();
        let mut outcome = self.stage(&envelope).await?;
        outcome.sent_emails = self.send_pending(&envelope).await?;
        // Webhooks are tried at once; a receiver's failure is retried from the retry queue.
        // Only our own trouble (the database, the retry queue) fails the record: its
        // redelivery finds the deliveries still pending and puts them back on schedule.
        self.deliver_event_webhooks(&envelope).await?;
        Ok(outcome)
    }

    /// Claims the event and stages its e-mails and webhook deliveries, in one transaction.
    async fn stage(&self, envelope: &Envelope) -> Result<Outcome, NotifierError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let message_id = envelope.message_id.0;
        if idempotency::claim(&tx, CONSUMER, &message_id.to_string()).await? == Claim::Repeat {
            tx.commit().await?;
            return Ok(Outcome::default());
        }
        let owner = audience::owner(&envelope.payload);
        let mut outcome = Outcome::default();
        if let Some(kind) = kinds::kind_of(&envelope.payload) {
            let key = kinds::dedup_key(&envelope.payload, &message_id.to_string());
            let subject = email::subject(kind, &envelope.payload);
            outcome.staged_emails += email::stage_for_audience(&tx, owner, kind, &key, message_id, &subject).await?;
        }
        if let Some(user) = kinds::charges(&envelope.payload) {
            outcome.staged_emails += email::stage_low_balance(&tx, user, self.config.low_balance, message_id).await?;
        }
        outcome.staged_webhooks = webhooks::stage(&tx, envelope, owner).await?;
        tx.commit().await?;
        tracing::info!(
            message_id = %message_id,
            kind = envelope.payload.kind(),
            emails = outcome.staged_emails,
            webhooks = outcome.staged_webhooks,
            "notifications staged"
        );
        Ok(outcome)
    }

    /// Each pending delivery of this event: tried when due, else (a redelivered event
    /// whose retry message was lost) put back on the retry queue.
    async fn deliver_event_webhooks(&self, envelope: &Envelope) -> Result<usize, NotifierError> {
        let ids = webhooks::pending_for_message(&self.pool, envelope.message_id.0).await?;
        let mut attempted = 0;
        for id in ids {
            if self.retry_delivery(id, self.clock.now()).await? != webhooks::Attempted::NotDue {
                attempted += 1;
            }
        }
        Ok(attempted)
    }

    /// The time the notifier reads.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

impl Function for Notifier {
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        match trigger {
            Trigger::Sqs(batch) => Ok(Answer::Batch(self.handle_batch(batch).await)),
            other => Err(FunctionError::Unsupported(other.kind().into())),
        }
    }
}
