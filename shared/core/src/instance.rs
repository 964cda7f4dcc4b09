//! What a function builds once per Lambda instance, in one place: the configuration,
//! the AWS SDK configuration, the PostgreSQL pool, the secrets reader and the clock.
//! Each function's library turns an [`Instance`] into its handler with one
//! constructor, used alike by its `main.rs` ([`Instance::from_env`]), by the local
//! runner and by the tests ([`Instance::new`], with the resources they created).

use crate::batch::{BatchProcessor, DeadLetterQueue, Outbox};
use crate::clock::Clock;
use crate::secrets::{Secret, SecretError, Secrets};
use crate::{aws, db, ConfigError, ConfigSource, DbError, DbSettings, EventPublisher, Pool};
use sluice_messages::Producer;
use std::sync::Arc;

#[derive(Clone)]
pub struct Instance {
    /// The function's name (telemetry, idempotency keys).
    pub service: &'static str,
    pub cfg: ConfigSource,
    pub sdk: aws_config::SdkConfig,
    pub db: DbSettings,
    pub pool: Pool,
    pub secrets: Arc<Secrets>,
    pub clock: Clock,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("secret {0}")]
    Secret(#[from] SecretError),
    /// A setting that parsed but does not work (an unusable URL, a model that cannot be built).
    #[error("{setting}: {reason}")]
    Unusable { setting: &'static str, reason: String },
}

impl InitError {
    pub fn unusable(setting: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Unusable {
            setting,
            reason: reason.to_string(),
        }
    }
}

impl Instance {
    /// In Lambda: telemetry, the process environment, the SDK and the pool.
    pub async fn from_env(service: &'static str) -> Result<Self, InitError> {
        crate::telemetry::init(service);
        let cfg = ConfigSource::from_env();
        let sdk = aws::sdk_config().await;
        let secrets = Arc::new(Secrets::new(aws::secrets(&sdk)));
        let db = DbSettings::load(&cfg, &secrets).await?;
        let pool = db::connect(&db).await?;
        // The secrets read while connecting stay cached for the constructor.
        Ok(Self {
            secrets,
            ..Self::new(service, cfg, sdk, db, pool)
        })
    }

    /// The local runner and the tests: a function's configuration over a shared SDK
    /// configuration and pool.
    pub fn new(
        service: &'static str,
        cfg: ConfigSource,
        sdk: aws_config::SdkConfig,
        db: DbSettings,
        pool: Pool,
    ) -> Self {
        let secrets = Arc::new(Secrets::new(aws::secrets(&sdk)));
        Self {
            service,
            cfg,
            sdk,
            db,
            pool,
            secrets,
            clock: Clock::system(),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A copy with one more setting (the runner gives each function its own).
    pub fn with_setting(mut self, key: &str, value: impl Into<String>) -> Self {
        self.cfg = self.cfg.with(key, value);
        self
    }

    pub fn publisher(&self) -> EventPublisher {
        EventPublisher::new(aws::sns(&self.sdk), aws::sqs(&self.sdk))
    }

    /// The outbox `producer` stages its messages in.
    pub fn outbox(&self, producer: Producer) -> Outbox {
        Outbox::new(self.pool.clone(), self.publisher(), producer)
    }

    /// The batch processor of a consumer whose dead-letter queue `dlq_setting` names
    /// (none set: permanent failures are left to the queue's redrive policy).
    pub fn processor(&self, dlq_setting: &str) -> Result<BatchProcessor, ConfigError> {
        let dlq = self
            .cfg
            .optional::<String>(dlq_setting)?
            .map(|url| DeadLetterQueue::new(aws::sqs(&self.sdk), url));
        Ok(BatchProcessor::new(dlq))
    }

    /// A secret setting (see [`crate::secrets`]): the value, or `None` when unset.
    pub async fn secret(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        self.secrets.get(&self.cfg, name).await
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws::s3(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws::sqs(&self.sdk)
    }
}
