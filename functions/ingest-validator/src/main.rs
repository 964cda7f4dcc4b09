//! Sets up once per instance (telemetry, config, clients, pool) and runs the handler.

use ingest_validator::{Ingest, IngestConfig, IngestEvent, SERVICE};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use sluice_core::{aws, db, BatchProcessor, ConfigSource, DbSettings, DeadLetterQueue, EventPublisher};

#[tokio::main]
async fn main() -> Result<(), Error> {
    sluice_core::telemetry::init(SERVICE);
    let cfg = ConfigSource::from_env();
    let sdk = aws::sdk_config().await;
    let pool = db::connect(&DbSettings::load(&cfg, Some(&aws::secrets(&sdk))).await?).await?;
    let sqs = aws::sqs(&sdk);
    let dead_letters = cfg
        .optional::<String>("DEAD_LETTER_QUEUE_URL")?
        .map(|url| DeadLetterQueue::new(sqs.clone(), url));
    let processor = BatchProcessor::new(dead_letters);
    let market = match cfg.optional::<String>("QUOTE_CACHE_TABLE")? {
        Some(table) => Some(price_updater::MarketData {
            pool: pool.clone(),
            cache: price_updater::QuoteCache::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                &table,
                std::time::Duration::from_secs(cfg.or("QUOTE_CACHE_TTL_SECS", 300u64)?),
            ),
        }),
        None => None,
    };
    let ingest = Ingest {
        market,
        pool,
        s3: aws::s3(&sdk),
        publisher: EventPublisher::new(aws::sns(&sdk), sqs),
        config: IngestConfig::load(&cfg)?,
    };
    run(service_fn(|event: LambdaEvent<IngestEvent>| {
        let (ingest, processor) = (&ingest, &processor);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            tracing::Instrument::instrument(
                async move { ingest.handle(event.payload, processor).await.map_err(Error::from) },
                span,
            )
            .await
        }
    }))
    .await
}
