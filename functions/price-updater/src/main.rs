//! Sets up once per instance (telemetry, config, clients, pool, vendor client,
//! limiter) and runs the handler: EventBridge schedules and the jobs queue.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use price_updater::{
    DynamoRateLimiter, FmpClient, PriceConfig, PriceUpdater, RateLimiter, RetryPolicy, Schedule, WindowLimit, SERVICE,
};
use sluice_core::{aws, db, BatchProcessor, ConfigSource, DbSettings, DeadLetterQueue, EventPublisher};
use std::sync::Arc;

/// What Lambda hands the function: a schedule tick or a batch of jobs.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Incoming {
    Schedule(Box<EventBridgeEvent>),
    Jobs(SqsEvent),
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    sluice_core::telemetry::init(SERVICE);
    let cfg = ConfigSource::from_env();
    let config = PriceConfig::load(&cfg)?;
    let sdk = aws::sdk_config().await;
    let secrets = aws::secrets(&sdk);
    let pool = db::connect(&DbSettings::load(&cfg, Some(&secrets)).await?).await?;
    let sqs = aws::sqs(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let dead_letters = cfg
        .optional::<String>("DEAD_LETTER_QUEUE_URL")?
        .map(|url| DeadLetterQueue::new(sqs.clone(), url));
    let processor = BatchProcessor::new(dead_letters);
    let limiter: Arc<dyn RateLimiter> = Arc::new(DynamoRateLimiter::new(
        dynamodb.clone(),
        &config.rate_limit_table,
        &config.rate_limit_bucket,
        WindowLimit::new(
            config.vendor_rate_limit,
            config.vendor_rate_window,
            config.vendor_rate_margin,
        ),
    ));
    let api_key = config.resolve_api_key(Some(&secrets)).await?;
    let vendor = FmpClient::new(
        &config.fmp_base_url,
        api_key,
        limiter.clone(),
        config.vendor_timeout,
        RetryPolicy {
            max_attempts: config.vendor_max_attempts,
            backoff: config.vendor_backoff,
            max_backoff: config.vendor_max_backoff,
            permit_max_age: config.vendor_rate_margin / 2,
        },
    )?;
    let updater = PriceUpdater {
        pool,
        dynamodb,
        vendor: Arc::new(vendor),
        limiter,
        publisher: EventPublisher::new(aws::sns(&sdk), sqs),
        config,
    };
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (updater, processor) = (&updater, &processor);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            tracing::Instrument::instrument(
                async move {
                    match serde_json::from_value::<Incoming>(event.payload)? {
                        Incoming::Schedule(tick) => {
                            let schedule = Schedule::from_event(&tick)?;
                            Ok::<_, Error>(serde_json::to_value(updater.handle_schedule(schedule).await?)?)
                        }
                        Incoming::Jobs(batch) => {
                            Ok(serde_json::to_value(updater.handle_batch(batch, processor).await)?)
                        }
                    }
                },
                span,
            )
            .await
        }
    }))
    .await
}
