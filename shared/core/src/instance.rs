//! What every function's `main.rs` sets up once per Lambda instance: telemetry, the
//! config source, the AWS SDK config, the PostgreSQL pool, the batch processor (with
//! the function's DLQ) and the event publisher.

use crate::{
    aws, db, BatchProcessor, ConfigError, ConfigSource, DbError, DbSettings, DeadLetterQueue, EventPublisher, Pool,
};

pub struct Instance {
    pub cfg: ConfigSource,
    pub sdk: aws_config::SdkConfig,
    pub pool: Pool,
    pub processor: BatchProcessor,
    pub publisher: EventPublisher,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Database(#[from] DbError),
}

pub async fn init(service: &'static str) -> Result<Instance, InitError> {
    crate::telemetry::init(service);
    let cfg = ConfigSource::from_env();
    let sdk = aws::sdk_config().await;
    let pool = db::connect(&DbSettings::load(&cfg, Some(&aws::secrets(&sdk))).await?).await?;
    let sqs = aws::sqs(&sdk);
    let dead_letters = cfg
        .optional::<String>("DEAD_LETTER_QUEUE_URL")?
        .map(|url| DeadLetterQueue::new(sqs.clone(), url));
    Ok(Instance {
        processor: BatchProcessor::new(dead_letters),
        publisher: EventPublisher::new(aws::sns(&sdk), sqs),
        cfg,
        sdk,
        pool,
    })
}
